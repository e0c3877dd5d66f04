{#-
  Open vacancies and werkfit supply per regio_code, gemeente_code, maand and isco_hoofdgroep (ISCO-08 major
  group), and the *spanning* (domain guide §5): open vacancies per werkfit candidate in the occupation group.
    maanden                   reporting months of a region: months with a werkzoekenden or vacatures delivery
                              (peildatum) of a partner of the region (macro rapportagemaanden)
    open_vacatures(_plekken)  vacancies (places) open in the month (int_vacatures_open_per_maand), by workplace
                              gemeente (regio_code of the workplace gemeente); isco_hoofdgroep 'onbekend'
                              when the vacancy has no ISCO code
    aantal_werkfit_kandidaten active job seekers werkfit or werkfit_met_ondersteuning at the end of the month under
                              the month rule (int_werkzoekende_maandstand, as kpi_regio_maand), by gemeente of
                              residence, once per ISCO major group among their (current) beroepswensen
                              (ISCO-08 codes; CompetentNL URIs are not mapped yet and not counted)
    spanning                  open_vacatures / aantal_werkfit_kandidaten (NULL when there are no candidates)
-#}
with regio_maanden as (
    {{ rapportagemaanden() }}
),

vacatures as (
    select
        m.regio_code,
        v.gemeente_code,
        m.maand,
        coalesce(v.isco_hoofdgroep, 'onbekend') as isco_hoofdgroep,
        count(*) as open_vacatures,
        coalesce(sum(v.aantal_plekken), 0) as open_vacature_plekken
    from regio_maanden as m
    inner join {{ ref('int_vacatures_open_per_maand') }} as v
        on v.regio_code = m.regio_code and v.maand = m.maand
    group by m.regio_code, v.gemeente_code, m.maand, coalesce(v.isco_hoofdgroep, 'onbekend')
),

versie as (
    {{ vastgestelde_werkfit_versie() }}
),

kandidaat_wensen as (
    select
        m.regio_code,
        m.gemeente_code,
        m.maand,
        m.persoon_id,
        m.werkfit_status,
        unnest({{ split_list('k.beroepswensen') }}) as beroep
    from {{ ref('int_werkzoekende_maandstand') }} as m
    inner join {{ ref('dim_kandidaat') }} as k
        on k.persoon_id = m.persoon_id and k.regio_code = m.regio_code
    where m.werkzoekende_status = 'actief'
        and m.werkfit_status in ('werkfit', 'werkfit_met_ondersteuning')
        and k.beroepswensen is not null
        and m.gemeente_code is not null
),

kandidaten as (
    select
        regio_code, gemeente_code, maand, substr(trim(beroep), 1, 1) as isco_hoofdgroep,
        count(distinct persoon_id) as aantal_werkfit_kandidaten,
        count(distinct case when werkfit_status = 'werkfit' then persoon_id end) as aantal_werkfit,
        count(distinct case when werkfit_status = 'werkfit_met_ondersteuning' then persoon_id end)
            as aantal_werkfit_met_ondersteuning
    from kandidaat_wensen
    where substr(trim(beroep), 1, 1) in ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')
    group by regio_code, gemeente_code, maand, substr(trim(beroep), 1, 1)
),

sleutels as (
    select regio_code, gemeente_code, maand, isco_hoofdgroep from vacatures
    union
    select regio_code, gemeente_code, maand, isco_hoofdgroep from kandidaten
)

select
    s.regio_code,
    s.gemeente_code,
    s.maand,
    s.isco_hoofdgroep,
    (select av.definitie_versie from versie as av) as werkfit_definitie_versie,
    coalesce(v.open_vacatures, 0) as open_vacatures,
    coalesce(v.open_vacature_plekken, 0) as open_vacature_plekken,
    coalesce(k.aantal_werkfit_kandidaten, 0) as aantal_werkfit_kandidaten,
    coalesce(k.aantal_werkfit, 0) as aantal_werkfit,
    coalesce(k.aantal_werkfit_met_ondersteuning, 0) as aantal_werkfit_met_ondersteuning,
    cast(coalesce(v.open_vacatures, 0) as double precision)
        / nullif(coalesce(k.aantal_werkfit_kandidaten, 0), 0) as spanning
from sleutels as s
left join vacatures as v
    on v.regio_code = s.regio_code and v.gemeente_code = s.gemeente_code and v.maand = s.maand
    and v.isco_hoofdgroep = s.isco_hoofdgroep
left join kandidaten as k
    on k.regio_code = s.regio_code and k.gemeente_code = s.gemeente_code and k.maand = s.maand
    and k.isco_hoofdgroep = s.isco_hoofdgroep
