-- The partner registry as loaded by the loader into raw.partners (one row per partner).
select
    partner_id,
    lower(trim(kind)) as kind,
    regio_code,
    gemeente_code,
    naam
from {{ source('raw', 'partners') }}
