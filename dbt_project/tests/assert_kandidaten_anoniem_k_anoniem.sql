-- bi.kandidaten_anoniem publishes no group of fewer than k persons (var k_anonimiteit, default 10).
select aantal_personen
from {{ ref('bi_kandidaten_anoniem') }}
where aantal_personen < {{ var('k_anonimiteit', 10) }}
