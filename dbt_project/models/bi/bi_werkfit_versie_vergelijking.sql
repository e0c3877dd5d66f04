{{ config(schema='bi', alias='werkfit_versie_vergelijking', materialized='view') }}
{#- marts.werkfit_versie_vergelijking for BI: the van_* statuses and the naar_* statuses each add up to
    aantal_personen; every count adds up over the doelgroepen of a region and version pair. -#}
{%- set statussen = ['werkfit', 'werkfit_met_ondersteuning', 'in_ontwikkeling', 'niet_bemiddelbaar', 'onbekend'] %}
{%- set van = [] %}{% set naar = [] %}
{%- for s in statussen %}{% do van.append('van_' ~ s) %}{% do naar.append('naar_' ~ s) %}{% endfor %}
{%- set groepen = {'aantal_personen': 'van'} %}
{%- for m in van %}{% do groepen.update({m: 'van'}) %}{% endfor %}
{%- for m in naar %}{% do groepen.update({m: 'naar'}) %}{% endfor %}
{{ suppress_small_cells(
    ref('werkfit_versie_vergelijking'),
    keys=['regio_code', 'doelgroep', 'versie_van', 'versie_naar'],
    spreads='doelgroep',
    measures=['aantal_personen'] + van + naar + ['aantal_gewijzigd'],
    row_groups=groepen,
) }}

-- jinja loops here render lines longer than the limit, so LT05 is excluded for this file:
-- sqlfluff:exclude_rules:ST06,LT02,LT09,RF03,ST09,AL03,LT05
