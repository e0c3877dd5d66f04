{#-
  Month-on-month werkfit trend from the history in snapshot snap_kandidaat_status: per regio_code,
  gemeente_code, maand, doelgroep, werkfit_definitie_versie and werkfit_status the number of active job
  seekers in the state valid at the end of the month (the snapshot version valid at the first moment of the
  next month; for the current month: the current version). Months run from the first snapshot month to the
  current month. Unlike kpi_regio_maand (current profile, counted in the month of the assessment) earlier
  months keep the status they had then.
-#}
with snap as (
    select
        regio_code, persoon_id, gemeente_code, doelgroep, werkzoekende_status, werkfit_definitie_versie,
        werkfit_status,
        cast(dbt_valid_from as timestamp) as geldig_van,
        cast(dbt_valid_to as timestamp) as geldig_tot
    from {{ ref('snap_kandidaat_status') }}
),

grenzen as (
    select
        cast(date_trunc('month', min(geldig_van)) as timestamp) as eerste,
        cast({{ maand('current_date') }} as timestamp) as laatste
    from snap
),

maanden as (
    select cast(m.maand_start as date) as maand
    from grenzen
    cross join generate_series(grenzen.eerste, grenzen.laatste, interval '1 month') as m(maand_start)
),

stand as (
    select m.maand, s.*
    from maanden as m
    inner join snap as s
        on s.geldig_van < m.maand + interval '1 month'
        and (s.geldig_tot is null or s.geldig_tot >= m.maand + interval '1 month')
    where s.werkzoekende_status = 'actief'
)

select
    regio_code,
    coalesce(gemeente_code, 'onbekend') as gemeente_code,
    maand,
    doelgroep,
    werkfit_definitie_versie,
    werkfit_status,
    count(distinct persoon_id) as aantal_werkzoekenden
from stand
group by regio_code, coalesce(gemeente_code, 'onbekend'), maand, doelgroep, werkfit_definitie_versie, werkfit_status
