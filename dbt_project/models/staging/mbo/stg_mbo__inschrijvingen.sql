-- MBO enrolments: the latest row per partner and (persoon_id, crebo, startdatum).
with bron as (
    select i.*, p.kind as partner_kind
    from {{ source('raw', 'mbo_inschrijvingen') }} as i
    inner join {{ ref('stg_platform__partners') }} as p on p.partner_id = i.partner_id
    where p.kind = 'mbo'
),

gerangschikt as (
    select bron.*, {{ latest_row_number(['persoon_id', 'crebo', 'startdatum']) }} as rij_nr
    from bron
)

select
    partner_id, partner_kind, regio_code, delivery_id, bron_rij, persoon_id, gemeente_code, brin, crebo,
    niveau, leerweg, sector, startdatum, verwachte_einddatum, status, peildatum, geladen_op
from gerangschikt
where rij_nr = 1
