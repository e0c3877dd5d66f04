{{ config(schema='bi', alias='kpi_spanning_beroep', materialized='view') }}
{#- marts.kpi_spanning_beroep for BI: aantal_kandidaten (persons) suppressed; the occupations of one region and
    month add up. spanning is NULL when the candidate count behind it is suppressed; vacancies are carried. -#}
{{ suppress_small_cells(
    ref('kpi_spanning_beroep'),
    keys=['regio_code', 'maand', 'isco_code'],
    spreads='isco_code',
    measures=['aantal_kandidaten'],
    carry=['isco_subgroep', 'aantal_open_vacatures', 'kansberoep'],
    dependent={'spanning': ['aantal_kandidaten']},
) }}
