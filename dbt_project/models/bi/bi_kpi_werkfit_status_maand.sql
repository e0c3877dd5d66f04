{{ config(schema='bi', alias='kpi_werkfit_status_maand', materialized='view') }}
{#- marts.kpi_werkfit_status_maand for BI (long format, one count per status): the statuses of one gemeente,
    month, doelgroep and version add up, and so do the doelgroepen of one status. -#}
{{ suppress_small_cells(
    ref('kpi_werkfit_status_maand'),
    keys=['regio_code', 'gemeente_code', 'maand', 'doelgroep', 'werkfit_definitie_versie', 'werkfit_status'],
    spreads=['werkfit_status', 'doelgroep'],
    measures=['aantal_werkzoekenden'],
) }}
