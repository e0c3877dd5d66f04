{{ config(schema='bi', alias='kpi_regio_maand', materialized='view') }}
{#- marts.kpi_regio_maand for BI: person counts suppressed (macro suppress_small_cells); the werkfit statuses of
    a row add up, and every count adds up over the doelgroepen of one gemeente and month. Vacancies are not
    about persons and are carried as they are. -#}
{%- set statussen = ['aantal_werkfit', 'aantal_werkfit_met_ondersteuning', 'aantal_in_ontwikkeling',
                     'aantal_niet_bemiddelbaar', 'aantal_onbekend'] %}
{%- set groepen = {} %}{% for m in statussen %}{% do groepen.update({m: 'werkfit'}) %}{% endfor %}
{{ suppress_small_cells(
    ref('kpi_regio_maand'),
    keys=['regio_code', 'gemeente_code', 'maand', 'doelgroep'],
    spreads='doelgroep',
    measures=['aantal_werkzoekenden'] + statussen + ['instroom', 'uitstroom', 'uitstroom_naar_werk'],
    carry=['werkfit_definitie_versie', 'open_vacatures', 'open_vacature_plekken'],
    row_groups=groepen,
) }}
