-- One row per vacancy: the latest delivered state over all UWV partners. regio_code comes from the
-- workplace gemeente via the seed (most recent indeling), not from the delivering partner. is_open is
-- judged on the delivering partner's latest vacatures peildatum (no wall clock, reproducible):
-- open_sinds <= that date and no sluitingsdatum before it, and the vacancy was in that latest delivery.
with vacatures as (
    select
        v.*,
        max(peildatum) over (partition by partner_id) as partner_laatste_peildatum,
        row_number() over (
            partition by vacature_id
            order by peildatum desc nulls last, geladen_op desc nulls last, delivery_id desc nulls last, partner_id asc
        ) as rij_nr
    from {{ ref('stg_uwv__vacatures') }} as v
)

select
    v.vacature_id,
    g.regio_code,
    v.gemeente_code,
    v.isco_code,
    substr(v.isco_code, 1, 1) as isco_hoofdgroep,
    v.sector,
    v.uren_per_week,
    v.contractvorm,
    v.opleidingsniveau_minimaal,
    v.taalniveau_minimaal,
    v.rijbewijs_vereist,
    {{ list_contains('v.rijbewijs_vereist', "'B'") }} as rijbewijs_b_vereist,
    v.competenties,
    v.aantal_plekken,
    v.open_sinds,
    v.sluitingsdatum,
    v.geschikt_banenafspraak,
    (v.peildatum = v.partner_laatste_peildatum
        and v.open_sinds <= v.partner_laatste_peildatum
        and (v.sluitingsdatum is null or v.sluitingsdatum >= v.partner_laatste_peildatum)) as is_open,
    v.partner_id,
    v.peildatum
from vacatures as v
left join {{ ref('stg_ref__gemeenten') }} as g on g.gemeente_code = v.gemeente_code
where v.rij_nr = 1
