{#-
  Candidate-vacancy pairs with every match criterion (value and pass/fail), before the hard criteria exclude and
  the score ranks (fct_kandidaat_vacature_match, which also writes the reasons in Dutch, for the kept pairs
  only). Thresholds from the adopted version of seed match_definitie (macro vastgestelde_match_definitie).
  Candidates: werkfit or werkfit_met_ondersteuning under the adopted werkfit definition (int_kandidaat_status),
  not uitgestroomd. Vacancies: open (dim_vacature.is_open) with a known region.
  Blocking, so the full candidate x vacancy product is never built:
    same regio_code  x  same beroepsfamilie (the first blok_isco_cijfers digits of ISCO-08 - 2 = sub-major
    group, 3 = minor group - of one of the candidate's beroepswensen and of the vacancy)  x  travel: a known
    distance (seed gemeente_afstanden) from the gemeente of residence to the gemeente of work of at most
    max_reisafstand_km. The distance is part of the join, so pairs beyond it are never formed.
  A candidate without beroepswensen or a gemeente pair without a distance is never paired.
  Criteria:
    beroep         zelfde_beroep (a wish = the vacancy's unit group) > zelfde_subgroep (first 3 digits) >
                   verwant (same family and competence overlap >= min_competentie_overlap) > geen      soft
    competenties   shared / the vacancy's competences (NULL when the vacancy names none)              soft
    uren           hours available >= hours asked                                                       soft
    taal           CEFR level >= the vacancy's minimum (unknown level fails when a minimum is set)     HARD
    rijbewijs      every required category held (exact category; NULL list = none held)               HARD
    opleiding      VUM werk- en denkniveau >= the minimum (0/7/NULL minimum: no requirement)           soft
    reisafstand    km between the gemeenten (always within the maximum: it is part of the blocking)    soft
-#}
with definitie as (
    {{ vastgestelde_match_definitie() }}
),

vacatures as (
    select
        vacature_id, regio_code, gemeente_code, isco_code, uren_per_week, opleidingsniveau_minimaal,
        taalniveau_minimaal, rijbewijs_vereist, competenties
    from {{ ref('dim_vacature') }}
    where is_open and regio_code is not null
),

kandidaten as (
    select
        k.persoon_id, k.regio_code, k.gemeente_code, k.beroepswensen, k.competenties,
        k.uren_beschikbaar_per_week, k.taalniveau_nl, k.rijbewijzen, k.opleidingsniveau, s.werkfit_status
    from {{ ref('dim_kandidaat') }} as k
    inner join {{ ref('int_kandidaat_status') }} as s
        on s.persoon_id = k.persoon_id and s.regio_code = k.regio_code
    where s.werkfit_status in ('werkfit', 'werkfit_met_ondersteuning')
      and coalesce(k.werkzoekende_status, 'actief') = 'actief'
),

wensen as (
    select w.regio_code, w.persoon_id, w.gemeente_code, w.wens, substr(w.wens, 1, d.blok_isco_cijfers) as familie
    from (
        select regio_code, persoon_id, gemeente_code, trim(unnest({{ split_list('beroepswensen') }})) as wens
        from kandidaten
        where beroepswensen is not null
    ) as w
    cross join definitie as d
),

vacature_families as (
    select v.vacature_id, v.regio_code, v.gemeente_code, v.isco_code,
           substr(v.isco_code, 1, d.blok_isco_cijfers) as familie
    from vacatures as v
    cross join definitie as d
),

blokken as (
    select
        w.regio_code,
        w.persoon_id,
        v.vacature_id,
        max(a.afstand_km) as afstand_km,
        bool_or(w.wens = v.isco_code) as zelfde_beroep,
        bool_or(substr(w.wens, 1, 3) = substr(v.isco_code, 1, 3)) as zelfde_subgroep
    from vacature_families as v
    inner join wensen as w
        on w.regio_code = v.regio_code and w.familie = v.familie
    inner join {{ ref('gemeente_afstanden') }} as a
        on a.van_gemeente_code = w.gemeente_code and a.naar_gemeente_code = v.gemeente_code
    cross join definitie as d
    where a.afstand_km <= d.max_reisafstand_km
    group by w.regio_code, w.persoon_id, v.vacature_id
),

paren as (
    select
        b.regio_code,
        b.vacature_id,
        b.persoon_id,
        d.match_versie,
        d.min_competentie_overlap,
        k.werkfit_status,
        k.gemeente_code as kandidaat_gemeente_code,
        v.gemeente_code as vacature_gemeente_code,
        v.isco_code,
        k.beroepswensen,
        b.zelfde_beroep,
        b.zelfde_subgroep,
        k.competenties as kandidaat_competenties,
        v.competenties as vacature_competenties,
        cast(k.uren_beschikbaar_per_week as double precision) as uren_beschikbaar,
        cast(v.uren_per_week as double precision) as uren_gevraagd,
        k.taalniveau_nl as taalniveau,
        v.taalniveau_minimaal as taalniveau_vereist,
        k.rijbewijzen,
        v.rijbewijs_vereist,
        k.opleidingsniveau,
        v.opleidingsniveau_minimaal as opleidingsniveau_vereist,
        cast(b.afstand_km as double precision) as afstand_km,
        cast(d.max_reisafstand_km as double precision) as max_reisafstand_km
    from blokken as b
    inner join vacatures as v on v.vacature_id = b.vacature_id
    inner join kandidaten as k on k.persoon_id = b.persoon_id and k.regio_code = b.regio_code
    cross join definitie as d
),

vacature_competenties as (
    select vacature_id, trim(unnest({{ split_list('competenties') }})) as competentie
    from vacatures
    where competenties is not null
),

kandidaat_competenties as (
    select regio_code, persoon_id, trim(unnest({{ split_list('competenties') }})) as competentie
    from kandidaten
    where competenties is not null
),

gedeeld as (
    select p.regio_code, p.persoon_id, p.vacature_id, count(*) as aantal_gedeeld
    from paren as p
    inner join vacature_competenties as vc on vc.vacature_id = p.vacature_id
    inner join kandidaat_competenties as kc
        on kc.regio_code = p.regio_code and kc.persoon_id = p.persoon_id and kc.competentie = vc.competentie
    group by p.regio_code, p.persoon_id, p.vacature_id
),

vacature_rijbewijzen as (
    select vacature_id, trim(unnest({{ split_list('rijbewijs_vereist') }})) as categorie
    from vacatures
    where rijbewijs_vereist is not null
),

ontbrekend as (
    select p.regio_code, p.persoon_id, p.vacature_id,
           string_agg(vr.categorie, ', ' order by vr.categorie) as rijbewijs_ontbrekend
    from paren as p
    inner join vacature_rijbewijzen as vr on vr.vacature_id = p.vacature_id
    where not coalesce({{ list_contains('p.rijbewijzen', 'vr.categorie') }}, false)
    group by p.regio_code, p.persoon_id, p.vacature_id
),

criteria as (
    select
        p.*,
        {{ list_length('p.vacature_competenties') }} as aantal_competenties_vacature,
        coalesce(g.aantal_gedeeld, 0) as aantal_competenties_gedeeld,
        case when {{ list_length('p.vacature_competenties') }} = 0 then null
             else cast(coalesce(g.aantal_gedeeld, 0) as double precision)
                  / {{ list_length('p.vacature_competenties') }} end as competentie_overlap,
        o.rijbewijs_ontbrekend
    from paren as p
    left join gedeeld as g
        on g.regio_code = p.regio_code and g.persoon_id = p.persoon_id and g.vacature_id = p.vacature_id
    left join ontbrekend as o
        on o.regio_code = p.regio_code and o.persoon_id = p.persoon_id and o.vacature_id = p.vacature_id
),

beoordeeld as (
    select
        criteria.*,
        case when zelfde_beroep then 'zelfde_beroep'
             when zelfde_subgroep then 'zelfde_subgroep'
             when competentie_overlap >= min_competentie_overlap then 'verwant'
             else 'geen' end as beroep_niveau,
        competentie_overlap >= min_competentie_overlap as competenties_ok,
        case when uren_gevraagd is null then true
             when uren_beschikbaar is null then null
             else uren_beschikbaar >= uren_gevraagd end as uren_ok,
        case when taalniveau_vereist is null then true
             when taalniveau is null then false
             else {{ taal_rang('taalniveau') }} >= {{ taal_rang('taalniveau_vereist') }} end as taal_ok,
        rijbewijs_ontbrekend is null as rijbewijs_ok,
        case when opleidingsniveau_vereist is null or opleidingsniveau_vereist in (0, 7) then true
             when opleidingsniveau is null then null
             else opleidingsniveau >= opleidingsniveau_vereist end as opleiding_ok,
        afstand_km <= max_reisafstand_km as reisafstand_ok
    from criteria
)

select
    regio_code,
    vacature_id,
    persoon_id,
    match_versie,
    werkfit_status,
    kandidaat_gemeente_code,
    vacature_gemeente_code,
    isco_code,
    beroepswensen,
    beroep_niveau,
    beroep_niveau <> 'geen' as beroep_ok,
    kandidaat_competenties,
    vacature_competenties,
    aantal_competenties_gedeeld,
    aantal_competenties_vacature,
    competentie_overlap,
    competenties_ok,
    uren_beschikbaar,
    uren_gevraagd,
    uren_ok,
    taalniveau,
    taalniveau_vereist,
    taal_ok,
    rijbewijzen,
    rijbewijs_vereist,
    rijbewijs_ontbrekend,
    rijbewijs_ok,
    opleidingsniveau,
    opleidingsniveau_vereist,
    opleiding_ok,
    afstand_km,
    max_reisafstand_km,
    reisafstand_ok,
    taal_ok and rijbewijs_ok as harde_eisen_ok
from beoordeeld
