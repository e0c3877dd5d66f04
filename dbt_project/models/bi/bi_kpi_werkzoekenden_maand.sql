{{ config(schema='bi', alias='kpi_werkzoekenden_maand', materialized='view') }}
{#- marts.kpi_werkzoekenden_maand for BI: the job-seeker stock by leeftijdsgroep and doelgroepregister, person counts
    suppressed; the leeftijdsgroepen of one region, gemeente, month and doelgroep add up. -#}
{%- set statussen = ['aantal_werkfit', 'aantal_werkfit_met_ondersteuning', 'aantal_in_ontwikkeling',
                     'aantal_niet_bemiddelbaar', 'aantal_onbekend'] %}
{%- set groepen = {} %}{% for m in statussen %}{% do groepen.update({m: 'werkfit'}) %}{% endfor %}
{{ suppress_small_cells(
    ref('kpi_werkzoekenden_maand'),
    keys=['regio_code', 'gemeente_code', 'maand', 'doelgroep', 'leeftijdsgroep', 'doelgroepregister'],
    spreads='leeftijdsgroep',
    measures=['aantal_werkzoekenden'] + statussen,
    carry=['werkfit_definitie_versie'],
    row_groups=groepen,
) }}
