-- MBO diplomas: the latest row per partner and (persoon_id, crebo).
with bron as (
    select d.*, p.kind as partner_kind
    from {{ source('raw', 'mbo_diplomas') }} as d
    inner join {{ ref('stg_platform__partners') }} as p on p.partner_id = d.partner_id
    where p.kind = 'mbo'
),

gerangschikt as (
    select bron.*, {{ latest_row_number(['persoon_id', 'crebo']) }} as rij_nr
    from bron
)

select
    partner_id, partner_kind, regio_code, delivery_id, bron_rij, persoon_id, brin, crebo, niveau, sector,
    diplomadatum, peildatum, geladen_op
from gerangschikt
where rij_nr = 1
