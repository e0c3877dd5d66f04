-- The afstand of a person per werkfit version: the most recent instrument wins; on equal dates the least
-- favourable afstand (D before C before B before A). Scores are never averaged. One row per
-- (definitie_versie, regio_code, persoon_id).
with gerangschikt as (
    select
        definitie_versie, regio_code, persoon_id, partner_id, instrument, score, instrument_datum, afstand,
        count(*) over (partition by definitie_versie, regio_code, persoon_id) as aantal_instrumenten,
        row_number() over (
            partition by definitie_versie, regio_code, persoon_id
            order by instrument_datum desc, afstand desc, instrument asc, partner_id asc
        ) as rij_nr
    from {{ ref('int_instrumenten_afstand') }}
)

select
    definitie_versie,
    regio_code,
    persoon_id,
    afstand,
    instrument as afstand_instrument,
    score as afstand_score,
    instrument_datum as afstand_datum,
    partner_id as afstand_partner_id,
    aantal_instrumenten
from gerangschikt
where rij_nr = 1
