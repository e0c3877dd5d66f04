{#-
  THE month rule of every stock KPI (kpi_regio_maand, kpi_werkfit_status_maand, kpi_werkzoekenden_maand): one
  row per (regio_code, persoon_id, maand) with the state of a person at the end of that month, from the
  deliveries' peildatum.
    maand          first day of the month; months run from the region's first to its latest werkzoekenden
                   peildatum month, every month in between
    state          per partner the latest delivered row with a peildatum in or before the month (a delivery holds
                   until the partner's next one); a row older than the partner's latest FULL delivery up to that
                   month is dropped (the person is no longer in the partner's books). Across partners one row with
                   the regeling precedence (macro regeling_precedence_order): gemeente_code, regeling, doelgroep,
                   werkzoekende_status, peildatum, partner_id
    geboortejaar, doelgroepregister
                   most recent non-null over the month's partner rows; leeftijdsgroep by macro leeftijdsgroep
                   against the month's year
    werkfit_status, werkfit_definitie_versie
                   the status history (snapshot snap_kandidaat_status) under the same rule: the version with the
                   latest peildatum in or before the month (then the latest build); NULL for months before the
                   history begins (the warehouse's first build), never a guess
-#}
with historie as (
    select
        h.*,
        coalesce(r.doelgroep, 'onbekend') as doelgroep,
        coalesce(r.betaler_kind = h.partner_kind, false) as is_betaler
    from {{ ref('stg_platform__werkzoekenden_historie') }} as h
    left join {{ ref('regelingen') }} as r on r.regeling = h.regeling
),

grenzen as (
    select regio_code, min({{ maand('peildatum') }}) as eerste, max({{ maand('peildatum') }}) as laatste
    from historie
    group by regio_code
),

alle_maanden as (
    select cast(m.maand_start as date) as maand
    from (
        select cast(min(eerste) as timestamp) as eerste, cast(max(laatste) as timestamp) as laatste from grenzen
    ) as g
    cross join generate_series(g.eerste, g.laatste, interval '1 month') as m (maand_start)
),

maanden as (
    select g.regio_code, m.maand
    from grenzen as g
    inner join alle_maanden as m on m.maand between g.eerste and g.laatste
),

volledige_peildata as (
    select distinct regio_code, partner_id, peildatum from historie
    where uit_volledige_levering
),

volledige_levering as (
    select m.regio_code, m.maand, v.partner_id, max(v.peildatum) as peildatum
    from maanden as m
    inner join volledige_peildata as v
        on v.regio_code = m.regio_code and v.peildatum < m.maand + interval '1 month'
    group by m.regio_code, m.maand, v.partner_id
),

per_partner as (
    select p.*
    from (
        select
            m.maand,
            h.*,
            row_number() over (
                partition by m.regio_code, m.maand, h.partner_id, h.persoon_id
                order by h.peildatum desc, h.geladen_op desc nulls last, h.delivery_id desc
            ) as partner_rij
        from maanden as m
        inner join historie as h
            on h.regio_code = m.regio_code and h.peildatum < m.maand + interval '1 month'
    ) as p
    left join volledige_levering as v
        on v.regio_code = p.regio_code and v.maand = p.maand and v.partner_id = p.partner_id
    where p.partner_rij = 1 and (v.peildatum is null or p.peildatum >= v.peildatum)
),

gekozen as (
    select *
    from (
        select
            per_partner.*,
            row_number() over (
                partition by regio_code, persoon_id, maand order by {{ regeling_precedence_order() }}
            ) as keuze
        from per_partner
    ) as k
    where keuze = 1
),

{%- for kolom in ['geboortejaar', 'doelgroepregister'] %}

{{ kolom }}_stand as (
    select regio_code, persoon_id, maand, {{ kolom }}
    from (
        select
            regio_code, persoon_id, maand, {{ kolom }},
            row_number() over (
                partition by regio_code, persoon_id, maand
                order by peildatum desc, geladen_op desc nulls last, delivery_id desc
            ) as rij
        from per_partner
        where {{ kolom }} is not null
    ) as s
    where rij = 1
),
{%- endfor %}

werkfit_stand as (
    select regio_code, persoon_id, maand, werkfit_definitie_versie, werkfit_status
    from (
        select
            m.regio_code, m.maand, s.persoon_id, s.werkfit_definitie_versie, s.werkfit_status,
            row_number() over (
                partition by m.regio_code, m.maand, s.persoon_id
                order by s.peildatum desc, s.dbt_valid_from desc
            ) as rij
        from maanden as m
        inner join {{ ref('snap_kandidaat_status') }} as s
            on s.regio_code = m.regio_code and s.peildatum < m.maand + interval '1 month'
    ) as w
    where rij = 1
)

select
    g.regio_code,
    g.persoon_id,
    g.maand,
    g.gemeente_code,
    g.regeling,
    g.doelgroep,
    g.status as werkzoekende_status,
    g.peildatum,
    g.partner_id,
    j.geboortejaar,
    {{ leeftijdsgroep('g.maand', 'j.geboortejaar') }} as leeftijdsgroep,
    r.doelgroepregister,
    w.werkfit_definitie_versie,
    w.werkfit_status
from gekozen as g
left join geboortejaar_stand as j on j.regio_code = g.regio_code and j.persoon_id = g.persoon_id and j.maand = g.maand
left join doelgroepregister_stand as r
    on r.regio_code = g.regio_code and r.persoon_id = g.persoon_id and r.maand = g.maand
left join werkfit_stand as w on w.regio_code = g.regio_code and w.persoon_id = g.persoon_id and w.maand = g.maand
