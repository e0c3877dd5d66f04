{#-
  Regional KPIs per regio_code, gemeente_code, maand (first day of month) and doelgroep.
    aantal_werkzoekenden   active job seekers at the end of the month under THE month rule
                           (int_werkzoekende_maandstand: each partner's latest delivered state with a peildatum in
                           or before the month, one row per person with the regeling precedence)
    aantal_<status>        of which with that werkfit status in the status history (snapshot, adopted version at
                           the time; int_werkzoekende_maandstand): the same stock and month as
                           kpi_werkfit_status_maand; no status before the history's first month
    werkfit_definitie_versie  the version of those statuses (the adopted version when there are none)
    instroom               persons whose regeling started in the month
    uitstroom(_naar_werk)  persons whose uitstroom_datum is in the month (reason werk)
    open_vacatures, open_vacature_plekken
                           vacancies open in the month (int_vacatures_open_per_maand) in the gemeente: a
                           gemeente-level figure repeated on every doelgroep row of that gemeente and month (do not sum over doelgroep)
-#}
{%- set statussen = ['werkfit', 'werkfit_met_ondersteuning', 'in_ontwikkeling', 'niet_bemiddelbaar', 'onbekend'] %}
with regelingen as (
    select regeling, doelgroep, betaler_kind from {{ ref('regelingen') }}
),

historie as (
    select
        h.*,
        coalesce(r.doelgroep, 'onbekend') as doelgroep,
        coalesce(r.betaler_kind = h.partner_kind, false) as is_betaler
    from {{ ref('stg_platform__werkzoekenden_historie') }} as h
    left join regelingen as r on r.regeling = h.regeling
),

werkzoekenden as (
    select
        regio_code, gemeente_code, maand, doelgroep,
        count(distinct persoon_id) as aantal_werkzoekenden,
        max(werkfit_definitie_versie) as definitie_versie
{%- for s in statussen %},
        count(distinct case when werkfit_status = '{{ s }}' then persoon_id end) as aantal_{{ s }}
{%- endfor %}
    from {{ ref('int_werkzoekende_maandstand') }}
    where werkzoekende_status = 'actief'
    group by regio_code, gemeente_code, maand, doelgroep
),

{#- Instroom and uitstroom: one event per person and month, attributed with the regeling precedence. -#}
{%- for gebeurtenis, datum in [('instroom', 'regeling_start'), ('uitstroom', 'uitstroom_datum')] %}

{{ gebeurtenis }}_rijen as (
    select regio_code, persoon_id, gemeente_code, doelgroep, uitstroom_reden, maand
    from (
        select
            historie.*,
            {{ maand(datum) }} as maand,
            row_number() over (
                partition by regio_code, persoon_id, {{ maand(datum) }}
                order by {{ regeling_precedence_order() }}
            ) as rij_nr
        from historie
        where {{ datum }} is not null
    ) as g
    where rij_nr = 1
),
{%- endfor %}

instroom as (
    select regio_code, gemeente_code, maand, doelgroep, count(distinct persoon_id) as instroom
    from instroom_rijen
    group by regio_code, gemeente_code, maand, doelgroep
),

uitstroom as (
    select
        regio_code, gemeente_code, maand, doelgroep,
        count(distinct persoon_id) as uitstroom,
        count(distinct case when uitstroom_reden = 'werk' then persoon_id end) as uitstroom_naar_werk
    from uitstroom_rijen
    group by regio_code, gemeente_code, maand, doelgroep
),

vastgestelde_versie as (
    {{ vastgestelde_werkfit_versie() }}
),

sleutels as (
    select regio_code, gemeente_code, maand, doelgroep from werkzoekenden
    union
    select regio_code, gemeente_code, maand, doelgroep from instroom
    union
    select regio_code, gemeente_code, maand, doelgroep from uitstroom
),

gemeente_maanden as (
    select distinct gemeente_code, maand from sleutels
),

vacatures as (
    select
        gm.gemeente_code,
        gm.maand,
        count(v.vacature_id) as open_vacatures,
        coalesce(sum(v.aantal_plekken), 0) as open_vacature_plekken
    from gemeente_maanden as gm
    left join {{ ref('int_vacatures_open_per_maand') }} as v
        on v.gemeente_code = gm.gemeente_code and v.maand = gm.maand
    group by gm.gemeente_code, gm.maand
)

select
    s.regio_code,
    s.gemeente_code,
    s.maand,
    s.doelgroep,
    coalesce(w.aantal_werkzoekenden, 0) as aantal_werkzoekenden,
    coalesce(w.definitie_versie, (select vv.definitie_versie from vastgestelde_versie as vv))
        as werkfit_definitie_versie,
{%- for s in statussen %}
    coalesce(w.aantal_{{ s }}, 0) as aantal_{{ s }},
{%- endfor %}
    coalesce(i.instroom, 0) as instroom,
    coalesce(u.uitstroom, 0) as uitstroom,
    coalesce(u.uitstroom_naar_werk, 0) as uitstroom_naar_werk,
    coalesce(v.open_vacatures, 0) as open_vacatures,
    coalesce(v.open_vacature_plekken, 0) as open_vacature_plekken
from sleutels as s
left join werkzoekenden as w
    on
        w.regio_code = s.regio_code
        and w.gemeente_code = s.gemeente_code
        and w.maand = s.maand
        and w.doelgroep = s.doelgroep
left join instroom as i
    on
        i.regio_code = s.regio_code
        and i.gemeente_code = s.gemeente_code
        and i.maand = s.maand
        and i.doelgroep = s.doelgroep
left join uitstroom as u
    on
        u.regio_code = s.regio_code
        and u.gemeente_code = s.gemeente_code
        and u.maand = s.maand
        and u.doelgroep = s.doelgroep
left join vacatures as v
    on v.gemeente_code = s.gemeente_code and v.maand = s.maand
