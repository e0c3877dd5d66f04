{{ config(schema='bi', alias='kpi_plaatsingen_maand', materialized='view') }}
{#- marts.kpi_plaatsingen_maand for BI: every aantal_* is a person count; the doelgroepen of one gemeente and
    month add up. The shares are NULL when a count behind them is suppressed. -#}
{%- set aantallen = ['aantal_plaatsingen', 'aantal_beoordeelbaar_26w', 'aantal_duurzaam_26w',
                     'aantal_beoordeelbaar_52w', 'aantal_duurzaam_52w', 'aantal_terug_in_uitkering',
                     'aantal_met_instrument'] %}
{{ suppress_small_cells(
    ref('kpi_plaatsingen_maand'),
    keys=['regio_code', 'gemeente_code', 'doelgroep', 'maand'],
    spreads='doelgroep',
    measures=aantallen,
    dependent={'aandeel_duurzaam_26w': ['aantal_beoordeelbaar_26w', 'aantal_duurzaam_26w'],
               'aandeel_duurzaam_52w': ['aantal_beoordeelbaar_52w', 'aantal_duurzaam_52w']},
) }}
