{#-
  THE rule "a vacancy is open in month M", written once: one row per (vacature_id, maand) for every month the
  vacancy is open, with the columns the marts count by (dim_vacature: the latest delivered state).
    open in M   open_sinds before the first day of the next month and no sluitingsdatum before the first day of M:
                open on at least one day of the month (a vacancy opening on 31 March is open in March, one closing
                on 1 April is open in April)
    maand       first day of the month; from the month of open_sinds up to the month of sluitingsdatum, at most
                the latest reporting month of any region (macro rapportagemaanden): a vacancy without
                sluitingsdatum is open up to that month, nothing is claimed beyond the data
  kpi_mbo_aanbod_vraag's "open during a school year" is derived from these rows (open in one of its months).
-#}
with vacatures as (
    select
        vacature_id, regio_code, gemeente_code, isco_code, isco_hoofdgroep, sector, aantal_plekken, open_sinds,
        sluitingsdatum
    from {{ ref('dim_vacature') }}
    where open_sinds is not null
),

grenzen as (
    select
        cast((select min({{ maand('open_sinds') }}) from vacatures) as timestamp) as eerste,
        cast((select max(maand) from ({{ rapportagemaanden() }}) as r) as timestamp) as laatste
),

maanden as (
    select cast(m.maand_start as date) as maand
    from grenzen as g
    cross join generate_series(g.eerste, g.laatste, interval '1 month') as m (maand_start)
)

select
    v.vacature_id,
    m.maand,
    v.regio_code,
    v.gemeente_code,
    v.isco_code,
    v.isco_hoofdgroep,
    v.sector,
    v.aantal_plekken,
    v.open_sinds,
    v.sluitingsdatum
from vacatures as v
inner join maanden as m
    on v.open_sinds < m.maand + interval '1 month'
    and (v.sluitingsdatum is null or v.sluitingsdatum >= m.maand)
