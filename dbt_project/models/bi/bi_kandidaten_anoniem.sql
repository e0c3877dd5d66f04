{{ config(schema='bi', alias='kandidaten_anoniem', materialized='view') }}
{#-
  bi.kandidaten_anoniem: the anonymous candidate view for employers (the idea behind UWV's Kandidatenverkenner).
  Candidates: werkfit or werkfit_met_ondersteuning under the adopted werkfit definition, not uitgestroomd.
  No persoon_id, only generalised attributes, and only groups of at least k persons (var k_anonimiteit,
  default 10, the platform's suppression threshold): k-anonymity by global generalisation in three levels.
  Each person is published in the most detailed level whose group (of the persons not yet published) has
  >= k persons, else in the next; persons in no such group are not published at all (suppressed):
    niveau 1  gemeente, leeftijdsklasse, beroepsgroep (ISCO-08 sub-major group of the first wish), urenklasse,
              taalniveau, rijbewijs B, werkfit status, support (jobcoach, loonkostensubsidie, proefplaatsing)
    niveau 2  region, leeftijdsklasse, beroepsgroep, werkfit status (the rest NULL = not published)
    niveau 3  region, werkfit status
  A person is counted in one row only, so no row can be subtracted from another to isolate fewer than k.
  competenties: the competences held by at least k persons of the group (seed competenties codes).
-#}
{%- set k = var('k_anonimiteit', 10) %}
{%- set niveaus = {
    1: ['regio_code', 'gemeente_code', 'leeftijdsklasse', 'beroepsgroep', 'urenklasse', 'taalniveau_nl',
        'rijbewijs_b', 'werkfit_status', 'jobcoach', 'loonkostensubsidie', 'proefplaatsing'],
    2: ['regio_code', 'leeftijdsklasse', 'beroepsgroep', 'werkfit_status'],
    3: ['regio_code', 'werkfit_status'],
} %}
{%- set alle = niveaus[1] %}
{%- set booleans = ['rijbewijs_b', 'jobcoach', 'loonkostensubsidie', 'proefplaatsing'] %}
with personen as (
    select
        k.persoon_id,
        k.regio_code,
        k.gemeente_code,
        case when k.geboortejaar is null then 'onbekend'
             when extract(year from k.laatst_bijgewerkt) - k.geboortejaar < 27 then '18-26'
             when extract(year from k.laatst_bijgewerkt) - k.geboortejaar < 35 then '27-34'
             when extract(year from k.laatst_bijgewerkt) - k.geboortejaar < 45 then '35-44'
             when extract(year from k.laatst_bijgewerkt) - k.geboortejaar < 55 then '45-54'
             else '55+' end as leeftijdsklasse,
        coalesce(substr(k.beroepswensen, 1, 2), 'onbekend') as beroepsgroep,
        case when k.uren_beschikbaar_per_week < 12 then '8-11'
             when k.uren_beschikbaar_per_week < 20 then '12-19'
             when k.uren_beschikbaar_per_week < 32 then '20-31'
             else '32-40' end as urenklasse,
        coalesce(k.taalniveau_nl, 'onbekend') as taalniveau_nl,
        coalesce({{ list_contains('k.rijbewijzen', "'B'") }}, false) as rijbewijs_b,
        s.werkfit_status,
        coalesce({{ list_contains('k.ondersteuning', "'jobcoach'") }}, false) as jobcoach,
        coalesce({{ list_contains('k.ondersteuning', "'loonkostensubsidie'") }}, false) as loonkostensubsidie,
        coalesce({{ list_contains('k.ondersteuning', "'proefplaatsing'") }}, false) as proefplaatsing,
        k.competenties
    from {{ ref('dim_kandidaat') }} as k
    inner join {{ ref('int_kandidaat_status') }} as s
        on s.persoon_id = k.persoon_id and s.regio_code = k.regio_code
    where s.werkfit_status in ('werkfit', 'werkfit_met_ondersteuning')
      and coalesce(k.werkzoekende_status, 'actief') = 'actief'
),

{%- for niveau, sleutels in niveaus.items() %}
niveau{{ niveau }} as (
    select
        {%- for kolom in ['persoon_id', 'competenties'] + alle %}
        bron.{{ kolom }},
        {%- endfor %}
        count(*) over (partition by {% for kolom in sleutels %}bron.{{ kolom }}{% if not loop.last %}, {% endif %}{% endfor %}) as groepsgrootte
    from {% if niveau == 1 %}personen{% else %}niveau{{ niveau - 1 }}{% endif %} as bron
    {%- if niveau > 1 %}
    where bron.groepsgrootte < {{ k }}
    {%- endif %}
),

geplaatst{{ niveau }} as (
    select
        persoon_id,
        competenties,
        {{ niveau }} as generalisatieniveau,
        {%- for kolom in alle %}
        {% if kolom in sleutels %}{{ kolom }}{% elif kolom in booleans %}cast(null as boolean){% else %}cast(null as varchar){% endif %} as {{ kolom }},
        {%- endfor %}
        concat_ws('|', '{{ niveau }}'{% for kolom in sleutels %}, cast({{ kolom }} as varchar){% endfor %}) as groep
    from niveau{{ niveau }}
    where groepsgrootte >= {{ k }}
),
{%- endfor %}

geplaatst as (
    {%- for niveau in niveaus %}
    select * from geplaatst{{ niveau }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

competenties as (
    select groep, competentie
    from (
        select groep, trim(unnest({{ split_list('competenties') }})) as competentie
        from geplaatst
        where competenties is not null
    ) as c
    group by groep, competentie
    having count(*) >= {{ k }}
),

competenties_per_groep as (
    select groep, string_agg(competentie, ',' order by competentie) as competenties
    from competenties
    group by groep
)

select
    g.generalisatieniveau,
    {%- for kolom in alle %}
    {%- if kolom in booleans %}
    cast(g.{{ kolom }} as boolean) as {{ kolom }},
    {%- else %}
    cast(g.{{ kolom }} as varchar) as {{ kolom }},
    {%- endif %}
    {%- endfor %}
    c.competenties,
    count(*) as aantal_personen
from geplaatst as g
left join competenties_per_groep as c on c.groep = g.groep
group by g.generalisatieniveau, {% for kolom in alle %}g.{{ kolom }}, {% endfor %}c.competenties

-- jinja loops here render lines longer than the limit, so LT05 is excluded for this file:
-- sqlfluff:exclude_rules:ST06,LT02,LT09,RF03,ST09,AL03,LT05
