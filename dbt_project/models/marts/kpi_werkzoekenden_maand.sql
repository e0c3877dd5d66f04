{#-
  The monthly stock of active job seekers by leeftijdsgroep and doelgroepregister, per regio_code, gemeente_code,
  maand and doelgroep, under THE month rule (int_werkzoekende_maandstand): the state at the end of the month from
  the deliveries' peildatum.
    leeftijdsgroep         tot_27 | 27_54 | 55_plus | onbekend: year of the month minus geboortejaar (macro
                           leeftijdsgroep)
    doelgroepregister      ja | nee | onbekend (most recent non-null value of the month's partner rows)
    aantal_werkzoekenden   active job seekers in that state
    aantal_<status>        of which with that werkfit status in the status history (adopted version at the time);
                           the statuses add up to aantal_werkzoekenden from the history's first month on
-#}
{%- set statussen = ['werkfit', 'werkfit_met_ondersteuning', 'in_ontwikkeling', 'niet_bemiddelbaar', 'onbekend'] %}
with stand as (
    select
        *,
        case when doelgroepregister then 'ja' when not doelgroepregister then 'nee' else 'onbekend' end
            as register
    from {{ ref('int_werkzoekende_maandstand') }}
    where werkzoekende_status = 'actief'
),

vastgestelde_versie as (
    {{ vastgestelde_werkfit_versie() }}
)

select
    regio_code,
    coalesce(gemeente_code, 'onbekend') as gemeente_code,
    maand,
    doelgroep,
    leeftijdsgroep,
    register as doelgroepregister,
    coalesce(max(werkfit_definitie_versie), (select vv.definitie_versie from vastgestelde_versie as vv))
        as werkfit_definitie_versie,
    count(distinct persoon_id) as aantal_werkzoekenden
{%- for s in statussen %},
    count(distinct case when werkfit_status = '{{ s }}' then persoon_id end) as aantal_{{ s }}
{%- endfor %}
from stand
group by regio_code, coalesce(gemeente_code, 'onbekend'), maand, doelgroep, leeftijdsgroep, register
