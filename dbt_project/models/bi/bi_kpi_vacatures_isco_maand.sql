{{ config(schema='bi', alias='kpi_vacatures_isco_maand', materialized='view') }}
{#- marts.kpi_vacatures_isco_maand for BI: the candidate counts (persons) are suppressed; werkfit and
    werkfit_met_ondersteuning add up to aantal_werkfit_kandidaten, and the ISCO groups of one gemeente and
    month add up. spanning is NULL when the candidate count behind it is suppressed. -#}
{%- set kandidaten = ['aantal_werkfit_kandidaten', 'aantal_werkfit', 'aantal_werkfit_met_ondersteuning'] %}
{%- set groepen = {} %}{% for m in kandidaten %}{% do groepen.update({m: 'kandidaten'}) %}{% endfor %}
{{ suppress_small_cells(
    ref('kpi_vacatures_isco_maand'),
    keys=['regio_code', 'gemeente_code', 'maand', 'isco_hoofdgroep'],
    spreads='isco_hoofdgroep',
    measures=kandidaten,
    carry=['werkfit_definitie_versie', 'open_vacatures', 'open_vacature_plekken'],
    row_groups=groepen,
    dependent={'spanning': ['aantal_werkfit_kandidaten']},
) }}
