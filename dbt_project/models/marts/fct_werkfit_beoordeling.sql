{#-
  Werkfit assessment per person for EVERY version in seed werkfit_definitie (versions side by side).
  Rules (domain guide §4), thresholds always from the version's seed row, and which criterion applies to which
  regeling from seed werkfit_criterium_toepassing (part of the version):
    - not an active job seeker (known only to MBO, or uitgestroomd) -> geen_werkzoekende (not assessed)
    - ontheffing arbeidsplicht (where it applies)    -> niet_bemiddelbaar
    - no instrument (afstand) or no hours known      -> onbekend (reason says which; never a guess)
    - afstand D                                      -> niet_bemiddelbaar
    - afstand C                                      -> in_ontwikkeling
    - afstand A/B with an applicable criterion unknown -> onbekend
    - afstand A/B with a criterion failing that support cannot bridge -> in_ontwikkeling
    - afstand A, all criteria met                    -> werkfit
    - afstand A, exactly one bridgeable criterion    -> werkfit_met_ondersteuning
      (hours in [min_uren_ondersteuning, min_uren_werkfit), or taal >= min_taal_ondersteuning in a taalroute)
    - afstand A, two bridgeable criteria             -> in_ontwikkeling
    - afstand B, no failing criterion                -> werkfit_met_ondersteuning
  A criterion that does not apply to any of the person's active regelingen (dim_kandidaat.regelingen) passes
  (crit_* true) and is named in criteria_niet_van_toepassing; without a seed row a criterion applies.
  Criteria columns are NULL when the underlying value is unknown. peildatum = the person's laatst_bijgewerkt.
-#}
{%- set criteria = {'uren': 'uren beschikbaar per week', 'beschikbaar': 'beschikbaar vanaf',
                    'taal': 'taalniveau', 'ontheffing': 'ontheffing arbeidsplicht'} %}
with kandidaat as (
    select * from {{ ref('dim_kandidaat') }}
),

definitie as (
    select * from {{ ref('werkfit_definitie') }}
),

kandidaat_regelingen as (
    select persoon_id, regio_code, trim(regeling) as regeling
    from (
        select persoon_id, regio_code, unnest({{ split_list('regelingen') }}) as regeling
        from kandidaat
        where regelingen is not null
    ) as r
),

toepassing as (
    select
        kr.persoon_id,
        kr.regio_code,
        t.definitie_versie
{%- for c in criteria %},
        bool_or(case when t.criterium = '{{ c }}' then t.van_toepassing end) as toep_{{ c }}
{%- endfor %}
    from kandidaat_regelingen as kr
    inner join {{ ref('werkfit_criterium_toepassing') }} as t on t.regeling = kr.regeling
    group by kr.persoon_id, kr.regio_code, t.definitie_versie
),

basis as (
    select
        k.persoon_id,
        k.regio_code,
        k.doelgroep,
        k.regelingen,
        coalesce(k.werkzoekende_status = 'actief', false) as is_werkzoekende,
        k.werkzoekende_status,
        k.laatst_bijgewerkt as peildatum,
        d.definitie_versie,
        d.status as definitie_status,
        d.min_uren_werkfit,
        d.min_uren_ondersteuning,
        d.min_taal_werkfit,
        d.min_taal_ondersteuning,
        d.vereist_beschikbaar,
        a.afstand,
        a.afstand_instrument,
        a.afstand_datum,
        k.uren_beschikbaar_per_week,
        k.beschikbaar_vanaf,
        k.taalniveau_nl,
        k.taalroute,
        k.ontheffing_arbeidsplicht
{%- for c in criteria %},
        coalesce(t.toep_{{ c }}, true) as toep_{{ c }}
{%- endfor %}
    from kandidaat as k
    cross join definitie as d
    left join toepassing as t
        on t.persoon_id = k.persoon_id and t.regio_code = k.regio_code and t.definitie_versie = d.definitie_versie
    left join {{ ref('int_kandidaat_afstand') }} as a
        on a.definitie_versie = d.definitie_versie
        and a.regio_code = k.regio_code
        and a.persoon_id = k.persoon_id
),

criteria as (
    select
        basis.*,
        case when afstand is null then null else afstand = 'A' end as crit_afstand_ok,
        case when not toep_uren then true
             when uren_beschikbaar_per_week is null then null
             else uren_beschikbaar_per_week >= min_uren_werkfit end as crit_uren_ok,
        case when not vereist_beschikbaar or not toep_beschikbaar then true
             when beschikbaar_vanaf is null then null
             else beschikbaar_vanaf <= peildatum end as crit_beschikbaar_ok,
        case when not toep_taal then true
             when {{ taal_rang('taalniveau_nl') }} is null then null
             else {{ taal_rang('taalniveau_nl') }} >= {{ taal_rang('min_taal_werkfit') }} end as crit_taal_ok,
        case when not toep_ontheffing then true
             when ontheffing_arbeidsplicht is null then null
             else not ontheffing_arbeidsplicht end as crit_geen_ontheffing,
        coalesce(toep_uren and uren_beschikbaar_per_week < min_uren_werkfit
                 and uren_beschikbaar_per_week >= min_uren_ondersteuning, false) as uren_overbrugbaar,
        coalesce(toep_taal and {{ taal_rang('taalniveau_nl') }} < {{ taal_rang('min_taal_werkfit') }}
                 and {{ taal_rang('taalniveau_nl') }} >= {{ taal_rang('min_taal_ondersteuning') }}
                 and taalroute, false) as taal_overbrugbaar,
        nullif(concat_ws('; '
{%- for c, label in criteria.items() %},
            case when not toep_{{ c }} then '{{ label }}: niet van toepassing ('
                || coalesce(replace(regelingen, ',', ', '), 'geen regeling') || ')' end
{%- endfor %}
        ), '') as criteria_niet_van_toepassing
    from basis
),

telling as (
    select
        criteria.*,
        (case when crit_beschikbaar_ok is null then 1 else 0 end
         + case when crit_taal_ok is null then 1 else 0 end
         + case when crit_geen_ontheffing is null then 1 else 0 end) as aantal_onbekend,
        (case when crit_uren_ok = false and not uren_overbrugbaar then 1 else 0 end
         + case when crit_beschikbaar_ok = false then 1 else 0 end
         + case when crit_taal_ok = false and not taal_overbrugbaar then 1 else 0 end) as aantal_niet_voldaan,
        (case when crit_uren_ok = false and uren_overbrugbaar then 1 else 0 end
         + case when crit_taal_ok = false and taal_overbrugbaar then 1 else 0 end) as aantal_overbrugbaar
    from criteria
),

status as (
    select
        telling.*,
        case
            when not is_werkzoekende then 'geen_werkzoekende'
            when crit_geen_ontheffing = false then 'niet_bemiddelbaar'
            when afstand is null or crit_uren_ok is null then 'onbekend'
            when afstand = 'D' then 'niet_bemiddelbaar'
            when afstand = 'C' then 'in_ontwikkeling'
            when aantal_onbekend > 0 then 'onbekend'
            when aantal_niet_voldaan > 0 then 'in_ontwikkeling'
            when afstand = 'A' and aantal_overbrugbaar = 0 then 'werkfit'
            when afstand = 'A' and aantal_overbrugbaar = 1 then 'werkfit_met_ondersteuning'
            when afstand = 'A' then 'in_ontwikkeling'
            when afstand = 'B' then 'werkfit_met_ondersteuning'
            else 'onbekend'
        end as werkfit_status
    from telling
)

select
    persoon_id,
    regio_code,
    peildatum,
    definitie_versie,
    definitie_status,
    werkfit_status,
    case
        when werkfit_status = 'werkfit' then ''
        when werkfit_status = 'geen_werkzoekende' then
            case when werkzoekende_status is null then 'geen werkzoekende: alleen bekend bij het MBO'
                 else 'geen werkzoekende: ' || werkzoekende_status end
        else coalesce(concat_ws('; ',
        case when crit_geen_ontheffing = false then 'ontheffing arbeidsplicht' end,
        case when afstand is null then 'geen instrumentscore bekend (afstand onbekend)' end,
        case when afstand = 'B' then 'afstand B (bemiddelbaar met ondersteuning)'
             when afstand = 'C' then 'afstand C (ontwikkeling nodig)'
             when afstand = 'D' then 'afstand D (nu niet bemiddelbaar)' end,
        case when crit_uren_ok is null then 'uren beschikbaar per week onbekend'
             when crit_uren_ok = false then
                'uren beschikbaar ' || {{ getal_tekst('uren_beschikbaar_per_week') }} || ' < '
                || {{ getal_tekst('min_uren_werkfit') }}
                || case when uren_overbrugbaar then ' (overbrugbaar met ondersteuning)' else '' end end,
        case when crit_beschikbaar_ok is null then 'beschikbaar_vanaf onbekend'
             when crit_beschikbaar_ok = false then
                'pas beschikbaar vanaf ' || cast(beschikbaar_vanaf as varchar) end,
        case when crit_taal_ok is null then 'taalniveau onbekend'
             when crit_taal_ok = false then
                'taalniveau ' || taalniveau_nl || ' < ' || min_taal_werkfit
                || case when taal_overbrugbaar then ' (overbrugbaar: taalroute)' else '' end end,
        case when crit_geen_ontheffing is null then 'ontheffing arbeidsplicht onbekend' end,
        case when afstand = 'A' and aantal_overbrugbaar > 1 then 'meer dan een criterium alleen met ondersteuning' end
    ), '') end as redenen,
    afstand,
    afstand_instrument,
    afstand_datum,
    crit_afstand_ok,
    crit_uren_ok,
    crit_beschikbaar_ok,
    crit_taal_ok,
    crit_geen_ontheffing,
    criteria_niet_van_toepassing,
    regelingen,
    uren_beschikbaar_per_week,
    beschikbaar_vanaf,
    taalniveau_nl,
    taalroute,
    ontheffing_arbeidsplicht,
    min_uren_werkfit,
    min_taal_werkfit
from status
