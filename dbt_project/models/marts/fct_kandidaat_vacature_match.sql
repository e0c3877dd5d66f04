{#-
  Candidate-vacancy matches: per open vacancy the best candidates of its region (werkfit or
  werkfit_met_ondersteuning under the adopted werkfit definition), one row per pair, with every criterion's
  value and pass/fail (from int_kandidaat_vacature_paren, which also does the blocking) and its reason in Dutch,
  written here after the top-N cut, so only for the pairs kept.
  Hard criteria exclude: a pair that fails the language minimum or misses a required driving licence is not
  here. Soft criteria rank, with the weights of the adopted version of seed match_definitie:
    punten_beroep         zelfde_beroep 1, zelfde_subgroep punten_subgroep, verwant punten_verwant, geen 0
    punten_competenties   the overlap ratio (0 when the vacancy names no competences: equal for all pairs)
    punten_uren           1 when the hours suffice (or the vacancy names none), else available / asked
    punten_opleiding      1 pass, 0.5 unknown, 0 fail
    punten_reisafstand    1 - afstand_km / max_reisafstand_km
  score = 100 x weighted mean of the punten (1 decimal); rang = 1 for the best score within the vacancy (ties:
  shorter distance, then persoon_id). Only rang <= max_kandidaten_per_vacature is kept.
  Person-level: region role and partners for their own clients only (row-level security, access.py).
-#}
with definitie as (
    {{ vastgestelde_match_definitie() }}
),

{# score and rank on the keys and punten only (narrow rows through the sort); the pair's other columns are
    joined back for the kept pairs #}

punten as (
    select
        p.regio_code, p.vacature_id, p.persoon_id, p.afstand_km,
        case p.beroep_niveau
            when 'zelfde_beroep' then 1.0
            when 'zelfde_subgroep' then d.punten_subgroep
            when 'verwant' then d.punten_verwant
            else 0.0 end as punten_beroep,
        coalesce(p.competentie_overlap, 0.0) as punten_competenties,
        case when p.uren_gevraagd is null or p.uren_ok then 1.0
             when p.uren_beschikbaar is null then 0.0
             else p.uren_beschikbaar / p.uren_gevraagd end as punten_uren,
        case when p.opleiding_ok then 1.0 when p.opleiding_ok is null then 0.5 else 0.0 end as punten_opleiding,
        1.0 - p.afstand_km / p.max_reisafstand_km as punten_reisafstand,
        d.gewicht_beroep, d.gewicht_competenties, d.gewicht_uren, d.gewicht_opleiding, d.gewicht_reisafstand,
        d.max_kandidaten_per_vacature
    from {{ ref('int_kandidaat_vacature_paren') }} as p
    inner join definitie as d on d.match_versie = p.match_versie
    where p.harde_eisen_ok
),

gescoord as (
    select
        punten.*,
        {{ afgerond(
            '100.0 * (gewicht_beroep * punten_beroep + gewicht_competenties * punten_competenties'
            ~ ' + gewicht_uren * punten_uren + gewicht_opleiding * punten_opleiding'
            ~ ' + gewicht_reisafstand * punten_reisafstand)'
            ~ ' / (gewicht_beroep + gewicht_competenties + gewicht_uren + gewicht_opleiding + gewicht_reisafstand)',
            1) }} as score
    from punten
),

gerangschikt as (
    select
        gescoord.*,
        row_number() over (partition by vacature_id order by score desc, afstand_km asc, persoon_id asc) as rang
    from gescoord
),

gekozen as (
    select p.*, g.score, g.rang
    from gerangschikt as g
    inner join {{ ref('int_kandidaat_vacature_paren') }} as p
        on p.regio_code = g.regio_code and p.vacature_id = g.vacature_id and p.persoon_id = g.persoon_id
    where g.rang <= g.max_kandidaten_per_vacature
),

{# the reasons in Dutch, for the kept pairs only #}

redenen as (
    select
        gekozen.*,
        case beroep_niveau
            when 'zelfde_beroep' then 'beroepswens ' || isco_code || ' = beroep vacature'
            when 'zelfde_subgroep' then 'beroepswens in dezelfde beroepsgroep ' || substr(isco_code, 1, 3)
            when 'verwant' then 'verwant beroep: ' || cast(aantal_competenties_gedeeld as varchar)
                                || ' gedeelde competenties'
            else 'beroepswens niet in beroepsgroep ' || substr(isco_code, 1, 3) end as reden_beroep,
        case when competentie_overlap is null then 'vacature noemt geen competenties'
             else 'competenties ' || cast(aantal_competenties_gedeeld as varchar) || ' van '
                  || cast(aantal_competenties_vacature as varchar) || ' van de vacature' end as reden_competenties,
        case when uren_gevraagd is null then 'uren vacature onbekend'
             when uren_beschikbaar is null then 'uren beschikbaar onbekend'
             when uren_ok then 'uren ' || {{ getal_tekst('uren_beschikbaar') }} || ' ≥ gevraagd '
                               || {{ getal_tekst('uren_gevraagd') }}
             else 'uren ' || {{ getal_tekst('uren_beschikbaar') }} || ' < gevraagd '
                  || {{ getal_tekst('uren_gevraagd') }} end as reden_uren,
        case when taalniveau_vereist is null then 'geen taaleis'
             when taalniveau is null then 'taalniveau onbekend, vereist ' || taalniveau_vereist
             when taal_ok then 'taalniveau ' || taalniveau || ' ≥ vereist ' || taalniveau_vereist
             else 'taalniveau ' || taalniveau || ' < vereist ' || taalniveau_vereist end as reden_taal,
        case when rijbewijs_vereist is null then 'geen rijbewijs vereist'
             when rijbewijs_ontbrekend is not null then 'mist rijbewijs ' || rijbewijs_ontbrekend
             else 'heeft rijbewijs ' || replace(rijbewijs_vereist, ',', ', ') end as reden_rijbewijs,
        case when opleidingsniveau_vereist is null or opleidingsniveau_vereist in (0, 7) then 'geen opleidingseis'
             when opleidingsniveau is null then 'werk- en denkniveau onbekend, vereist '
                                               || cast(opleidingsniveau_vereist as varchar)
             when opleiding_ok then 'werk- en denkniveau ' || cast(opleidingsniveau as varchar) || ' ≥ vereist '
                                    || cast(opleidingsniveau_vereist as varchar)
             else 'werk- en denkniveau ' || cast(opleidingsniveau as varchar) || ' < vereist '
                  || cast(opleidingsniveau_vereist as varchar) end as reden_opleiding,
        'reisafstand ' || {{ getal_tekst('afstand_km') }} || ' km' as reden_reisafstand
    from gekozen
)

select
    regio_code,
    vacature_id,
    persoon_id,
    match_versie,
    cast(rang as integer) as rang,
    score,
    werkfit_status,
    kandidaat_gemeente_code,
    vacature_gemeente_code,
    isco_code,
    beroepswensen,
    beroep_niveau,
    beroep_ok,
    kandidaat_competenties,
    vacature_competenties,
    aantal_competenties_gedeeld,
    aantal_competenties_vacature,
    {{ afgerond('competentie_overlap', 3) }} as competentie_overlap,
    competenties_ok,
    uren_beschikbaar,
    uren_gevraagd,
    uren_ok,
    taalniveau,
    taalniveau_vereist,
    taal_ok,
    rijbewijzen,
    rijbewijs_vereist,
    rijbewijs_ok,
    opleidingsniveau,
    opleidingsniveau_vereist,
    opleiding_ok,
    afstand_km,
    reisafstand_ok,
    concat_ws('; ', reden_beroep, reden_competenties, reden_uren, reden_taal, reden_rijbewijs, reden_opleiding,
              reden_reisafstand) as redenen,
    reden_beroep,
    reden_competenties,
    reden_uren,
    reden_taal,
    reden_rijbewijs,
    reden_opleiding,
    reden_reisafstand
from redenen
