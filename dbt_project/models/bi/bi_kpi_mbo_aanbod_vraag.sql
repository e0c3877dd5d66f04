{{ config(schema='bi', alias='kpi_mbo_aanbod_vraag', materialized='view') }}
{#- marts.kpi_mbo_aanbod_vraag for BI: enrolments and diplomas (persons) suppressed; the crebos of one region,
    school year and sector add up. Vacancies of the sector are carried. -#}
{{ suppress_small_cells(
    ref('kpi_mbo_aanbod_vraag'),
    keys=['regio_code', 'schooljaar', 'sector', 'crebo'],
    spreads='crebo',
    measures=['aantal_inschrijvingen', 'aantal_diplomas'],
    carry=['niveau', 'aantal_open_vacatures_sector'],
) }}
