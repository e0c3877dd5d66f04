{#-
  One row per placement (regio_code, persoon_id, kvk_nummer, startdatum) over every gemeente and UWV partner: the
  latest delivered state (peildatum, then geladen_op, delivery_id, partner_id); bronnen lists every partner that
  delivered it. Thresholds are dbt vars (dbt_project.yml), never literals here:
    duurzaam_<N>w             for N in var duurzaam_termijnen_weken (26, 52): on startdatum + N weeks the person
                              is known to work >= var duurzaam_min_uren_per_week (12) hours a week in a placement of
                              the region: this one or a follow-on (startdatum <= that day, einddatum NULL or >= that
                              day; a placement without einddatum counts only when its peildatum is on or after that
                              day). NULL while startdatum + N weeks is after this placement's peildatum (not yet
                              knowable).
    terug_in_uitkering        a werkzoekenden delivery of the region (any partner, any peildatum) shows the person
                              status actief on a benefit (var uitkering_regelingen) whose regeling_start is after the
                              placement's startdatum; datum_terug_in_uitkering is the earliest such regeling_start.
    gemeente_code, doelgroep  of the person in dim_kandidaat (gemeente of residence, regeling group); without a
                              dim_kandidaat row the delivering gemeente's code and doelgroep 'onbekend'.
-#}
{%- set termijnen = var('duurzaam_termijnen_weken') %}
with plaatsingen as (
    select * from {{ ref('stg_gemeente__plaatsingen') }}
    union all
    select * from {{ ref('stg_uwv__plaatsingen') }}
),

gerangschikt as (
    select
        p.*,
        row_number() over (
            partition by regio_code, persoon_id, kvk_nummer, startdatum
            order by peildatum desc nulls last, geladen_op desc nulls last, delivery_id desc nulls last, partner_id asc
        ) as rij_nr
    from plaatsingen as p
),

bronnen as (
    select regio_code, persoon_id, kvk_nummer, startdatum,
           string_agg(distinct partner_id, ',' order by partner_id) as bronnen
    from plaatsingen
    group by regio_code, persoon_id, kvk_nummer, startdatum
),

plaatsing as (
    select * from gerangschikt
where rij_nr = 1
),

terug as (
    select p.regio_code, p.persoon_id, p.kvk_nummer, p.startdatum, min(h.regeling_start) as datum_terug_in_uitkering
    from plaatsing as p
    inner join {{ ref('stg_platform__werkzoekenden_historie') }} as h
        on h.regio_code = p.regio_code and h.persoon_id = p.persoon_id
    where h.status = 'actief'
        and h.regeling in (
            {% for r in var("uitkering_regelingen") -%}
            '{{ r }}'{{ "," if not loop.last }}
            {% endfor %}
        )
        and h.regeling_start > p.startdatum
    group by p.regio_code, p.persoon_id, p.kvk_nummer, p.startdatum
)

select
    md5(p.regio_code || '|' || p.persoon_id || '|' || p.kvk_nummer || '|' || cast(p.startdatum as varchar))
        as plaatsing_id,
    p.regio_code,
    p.persoon_id,
    coalesce(k.gemeente_code, pa.gemeente_code) as gemeente_code,
    coalesce(k.doelgroep, 'onbekend') as doelgroep,
    p.kvk_nummer,
    p.vacature_id,
    p.startdatum,
    p.einddatum,
    p.uren_per_week,
    p.contractvorm,
    p.instrumenten,
    {{ list_length('p.instrumenten') }} as aantal_instrumenten,
    {%- for w in termijnen %}
    case
        when {{ weken_na('p.startdatum', w) }} > p.peildatum then null
        when exists (
            select 1 from plaatsing as q
            where q.regio_code = p.regio_code and q.persoon_id = p.persoon_id
                and q.startdatum <= {{ weken_na('p.startdatum', w) }}
                and q.uren_per_week >= {{ var('duurzaam_min_uren_per_week') }}
                and (q.einddatum >= {{ weken_na('p.startdatum', w) }}
                     or (q.einddatum is null and q.peildatum >= {{ weken_na('p.startdatum', w) }}))
        ) then true
        else false
    end as duurzaam_{{ w }}w,
    {%- endfor %}
    (t.datum_terug_in_uitkering is not null) as terug_in_uitkering,
    t.datum_terug_in_uitkering,
    p.partner_id,
    b.bronnen,
    p.peildatum
from plaatsing as p
inner join bronnen as b
    on b.regio_code = p.regio_code and b.persoon_id = p.persoon_id and b.kvk_nummer = p.kvk_nummer
    and b.startdatum = p.startdatum
left join terug as t
    on t.regio_code = p.regio_code and t.persoon_id = p.persoon_id and t.kvk_nummer = p.kvk_nummer
    and t.startdatum = p.startdatum
left join {{ ref('dim_kandidaat') }} as k on k.persoon_id = p.persoon_id and k.regio_code = p.regio_code
left join {{ ref('stg_platform__partners') }} as pa on pa.partner_id = p.partner_id
