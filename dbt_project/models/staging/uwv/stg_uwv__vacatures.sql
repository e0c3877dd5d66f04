-- Vacancies delivered by UWV partners: the latest row per partner and vacature_id.
with {{ latest_partner_rows('vacatures', 'uwv', ['vacature_id']) }}

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
    {{ normalise_list('competenties') }} as competenties,
    aantal_plekken,
    open_sinds,
    sluitingsdatum,
    geschikt_banenafspraak,
    peildatum,
    geladen_op
from gerangschikt
where rij_nr = 1
