-- Vacancies delivered by UWV partners: the latest row per partner and vacature_id.
with bron as (
    select v.*, p.kind as partner_kind
    from {{ source('raw', 'vacatures') }} as v
    inner join {{ ref('stg_platform__partners') }} as p on p.partner_id = v.partner_id
    where p.kind = 'uwv'
),

gerangschikt as (
    select bron.*, {{ latest_row_number(['vacature_id']) }} as rij_nr
    from bron
)

select
    partner_id,
    partner_kind,
    regio_code as partner_regio_code,
    delivery_id,
    vacature_id,
    kvk_nummer,
    gemeente_code,
    isco_code,
    sector,
    uren_per_week,
    contractvorm,
    opleidingsniveau_minimaal,
    taalniveau_minimaal,
    {{ normalise_list('rijbewijs_vereist') }} as rijbewijs_vereist,
    aantal_plekken,
    open_sinds,
    sluitingsdatum,
    geschikt_banenafspraak,
    peildatum,
    geladen_op
from gerangschikt
where rij_nr = 1
