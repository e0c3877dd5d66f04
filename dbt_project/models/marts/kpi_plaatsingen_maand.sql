{#-
  Placements per regio_code, gemeente_code, doelgroep and maand (first day of the month of startdatum), from
  fct_plaatsing (see its header for duurzaam and terug_in_uitkering):
    aantal_plaatsingen          placements that started in the month
    aantal_beoordeelbaar_<N>w   of which duurzaam_<N>w is known (startdatum + N weeks on or before the peildatum)
    aantal_duurzaam_<N>w        of which duurzaam_<N>w is true
    aandeel_duurzaam_<N>w       aantal_duurzaam / aantal_beoordeelbaar (NULL when none is beoordeelbaar)
    aantal_terug_in_uitkering   of which the person came back on a benefit afterwards
    aantal_met_instrument       of which at least one instrument (loonkostensubsidie, jobcoach, ...) was used
    aantal_personen             distinct persons placed in the month
  gemeente_code 'onbekend' when neither dim_kandidaat nor the delivering partner knows it.
-#}
{%- set termijnen = var('duurzaam_termijnen_weken') %}
select
    regio_code,
    coalesce(gemeente_code, 'onbekend') as gemeente_code,
    doelgroep,
    {{ maand('startdatum') }} as maand,
    count(*) as aantal_plaatsingen,
    {%- for w in termijnen %}
    count(duurzaam_{{ w }}w) as aantal_beoordeelbaar_{{ w }}w,
    count(case when duurzaam_{{ w }}w then 1 end) as aantal_duurzaam_{{ w }}w,
    cast(count(case when duurzaam_{{ w }}w then 1 end) as double precision)
        / nullif(count(duurzaam_{{ w }}w), 0) as aandeel_duurzaam_{{ w }}w,
    {%- endfor %}
    count(case when terug_in_uitkering then 1 end) as aantal_terug_in_uitkering,
    count(case when aantal_instrumenten > 0 then 1 end) as aantal_met_instrument,
    count(distinct persoon_id) as aantal_personen
from {{ ref('fct_plaatsing') }}
group by regio_code, coalesce(gemeente_code, 'onbekend'), doelgroep, {{ maand('startdatum') }}
