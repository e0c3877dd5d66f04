{#-
  Spanning per regio_code, maand and occupation (ISCO-08 unit group isco_code, with its minor group isco_subgroep):
    maanden                 for vacancies the reporting months of a region (macro rapportagemaanden, as
                            kpi_vacatures_isco_maand); for candidates the months of the month rule
    aantal_open_vacatures   vacancies open in the month (int_vacatures_open_per_maand), by the region of the
                            workplace gemeente
    aantal_open_plekken     sum of aantal_plekken of those vacancies
    aantal_kandidaten       active job seekers werkfit or werkfit_met_ondersteuning at the end of the month under
                            THE month rule (int_werkzoekende_maandstand: status of the adopted version at the time),
                            by the region of their gemeente of residence that month, once per ISCO-08 unit group
                            (4 digits) among their (current) beroepswensen (dim_kandidaat)
    werkfit_definitie_versie  the version of those statuses (the adopted version when there are no candidates)
    spanning                aantal_open_vacatures / aantal_kandidaten; NULL only when there is no candidate
    kansberoep              the unit group is in the seed kansberoepen (shortage occupations, with source and date)
-#}
with regio_maanden as (
    {{ rapportagemaanden() }}
),

vacatures as (
    select
        m.regio_code,
        m.maand,
        v.isco_code,
        count(*) as aantal_open_vacatures,
        coalesce(sum(v.aantal_plekken), 0) as aantal_open_plekken
    from regio_maanden as m
    inner join {{ ref('int_vacatures_open_per_maand') }} as v
        on v.regio_code = m.regio_code and v.maand = m.maand
    where v.isco_code is not null
    group by m.regio_code, m.maand, v.isco_code
),

versie as (
    {{ vastgestelde_werkfit_versie() }}
),

kandidaat_wensen as (
    select
        g.regio_code,
        m.maand,
        m.persoon_id,
        m.werkfit_status,
        m.werkfit_definitie_versie,
        unnest({{ split_list('k.beroepswensen') }}) as beroep
    from {{ ref('int_werkzoekende_maandstand') }} as m
    inner join {{ ref('stg_ref__gemeenten') }} as g on g.gemeente_code = m.gemeente_code
    inner join {{ ref('dim_kandidaat') }} as k
        on k.persoon_id = m.persoon_id and k.regio_code = m.regio_code
    where m.werkzoekende_status = 'actief'
        and m.werkfit_status in ('werkfit', 'werkfit_met_ondersteuning')
        and k.beroepswensen is not null
),

kandidaten as (
    select regio_code, maand, trim(beroep) as isco_code,
           count(distinct persoon_id) as aantal_kandidaten,
           count(distinct case when werkfit_status = 'werkfit' then persoon_id end) as aantal_werkfit,
           count(distinct case when werkfit_status = 'werkfit_met_ondersteuning' then persoon_id end)
               as aantal_werkfit_met_ondersteuning,
           max(werkfit_definitie_versie) as definitie_versie
    from kandidaat_wensen
    where {{ regex_groep('trim(beroep)', '^([0-9]{4})$', 1) }} is not null
    group by regio_code, maand, trim(beroep)
),

sleutels as (
    select regio_code, maand, isco_code from vacatures
    union
    select regio_code, maand, isco_code from kandidaten
)

select
    s.regio_code,
    s.maand,
    s.isco_code,
    substr(s.isco_code, 1, 3) as isco_subgroep,
    coalesce(k.definitie_versie, (select av.definitie_versie from versie as av)) as werkfit_definitie_versie,
    coalesce(v.aantal_open_vacatures, 0) as aantal_open_vacatures,
    coalesce(v.aantal_open_plekken, 0) as aantal_open_plekken,
    coalesce(k.aantal_kandidaten, 0) as aantal_kandidaten,
    coalesce(k.aantal_werkfit, 0) as aantal_werkfit,
    coalesce(k.aantal_werkfit_met_ondersteuning, 0) as aantal_werkfit_met_ondersteuning,
    cast(coalesce(v.aantal_open_vacatures, 0) as double precision) / nullif(k.aantal_kandidaten, 0) as spanning,
    (kb.isco_code is not null) as kansberoep
from sleutels as s
left join vacatures as v on v.regio_code = s.regio_code and v.maand = s.maand and v.isco_code = s.isco_code
left join kandidaten as k on k.regio_code = s.regio_code and k.maand = s.maand and k.isco_code = s.isco_code
left join {{ ref('kansberoepen') }} as kb on kb.isco_code = s.isco_code
