-- Each instrument score of each werkzoekenden source row mapped onto afstand A-D, per werkfit definition
-- version (the scale is a seed per version). One row per (definitie_versie, regio_code, persoon_id,
-- partner_id, instrument). instrument_datum falls back to the row's peildatum when the partner did not
-- deliver it (instrument_datum_bron says which). ZRM: any domain at 1 (zrm_laagste_domein = 1) caps the
-- ZRM row's afstand at C (never better than C; D stays D).
with bron as (
    select * from {{ ref('int_kandidaat_bronnen') }}
    where bron_dataset = 'werkzoekenden'
),

scores as (
    select regio_code, persoon_id, partner_id, peildatum, instrument_datum, zrm_laagste_domein,
           cast('participatieladder' as varchar) as instrument, cast(participatieladder as varchar) as score
    from bron
    where participatieladder is not null
    union all
    select regio_code, persoon_id, partner_id, peildatum, instrument_datum, zrm_laagste_domein,
           'zrm_werk_opleiding', cast(zrm_werk_opleiding as varchar)
    from bron
    where zrm_werk_opleiding is not null
    union all
    select regio_code, persoon_id, partner_id, peildatum, instrument_datum, zrm_laagste_domein,
           'werkverkenner_band', cast(werkverkenner_band as varchar)
    from bron
    where werkverkenner_band is not null
    union all
    select regio_code, persoon_id, partner_id, peildatum, instrument_datum, zrm_laagste_domein,
           'eigen_afstand', eigen_afstand
    from bron
    where eigen_afstand is not null
)

select
    schaal.definitie_versie,
    s.regio_code,
    s.persoon_id,
    s.partner_id,
    s.instrument,
    s.score,
    coalesce(s.instrument_datum, s.peildatum) as instrument_datum,
    case when s.instrument_datum is null then 'peildatum' else 'instrument_datum' end as instrument_datum_bron,
    schaal.afstand as afstand_schaal,
    case
        when s.instrument = 'zrm_werk_opleiding' and s.zrm_laagste_domein = 1
            then greatest(schaal.afstand, 'C')
        else schaal.afstand
    end as afstand
from scores as s
inner join {{ ref('werkfit_instrument_schaal') }} as schaal
    on schaal.instrument = s.instrument and schaal.score = s.score
