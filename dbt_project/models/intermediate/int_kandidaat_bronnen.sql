-- Every source row that knows a person, in one shape: the latest werkzoekenden row per gemeente and UWV
-- partner, the latest MBO enrolments and diplomas. One row per (regio_code, persoon_id, partner_id,
-- bron_dataset, bron_sleutel). Columns a dataset does not have are NULL.
with werkzoekenden as (
    select * from {{ ref('stg_gemeente__werkzoekenden') }}
    union all
    select * from {{ ref('stg_uwv__werkzoekenden') }}
),

regelingen as (
    select regeling, doelgroep, betaler_kind from {{ ref('regelingen') }}
)

select
    w.regio_code,
    w.persoon_id,
    w.partner_id,
    w.partner_kind,
    cast('werkzoekenden' as varchar) as bron_dataset,
    cast(w.persoon_id as varchar) as bron_sleutel,
    w.delivery_id,
    w.peildatum,
    w.geladen_op,
    w.gemeente_code,
    w.postcode4,
    w.geboortejaar,
    w.regeling,
    coalesce(r.betaler_kind = w.partner_kind, false) as is_betaler,
    w.regeling_start,
    w.regeling_einde,
    w.status,
    w.uitstroom_datum,
    w.uitstroom_reden,
    w.ontheffing_arbeidsplicht,
    w.doelgroepregister,
    w.opleidingsniveau,
    cast(null as varchar) as crebo,
    cast(null as bigint) as mbo_niveau,
    cast(null as date) as diplomadatum,
    cast(null as varchar) as inschrijving_status,
    cast(null as date) as verwachte_einddatum,
    w.taalniveau_nl,
    w.taalroute,
    w.rijbewijzen,
    w.uren_beschikbaar_per_week,
    w.beschikbaar_vanaf,
    w.beroepswensen,
    w.participatieladder,
    w.zrm_werk_opleiding,
    w.zrm_laagste_domein,
    w.werkverkenner_band,
    w.eigen_afstand,
    w.instrument_datum,
    w.ondersteuning,
    w.competenties
from werkzoekenden as w
left join regelingen as r on r.regeling = w.regeling

union all

select
    i.regio_code, i.persoon_id, i.partner_id, i.partner_kind,
    cast('mbo_inschrijvingen' as varchar) as bron_dataset,
    cast(i.crebo || '|' || cast(i.startdatum as varchar) as varchar) as bron_sleutel,
    i.delivery_id, i.peildatum, i.geladen_op, i.gemeente_code,
    cast(null as varchar), cast(null as bigint), cast(null as varchar), false,
    cast(null as date), cast(null as date), cast(null as varchar), cast(null as date), cast(null as varchar),
    cast(null as boolean), cast(null as boolean), cast(null as bigint),
    i.crebo, i.niveau, cast(null as date), i.status, i.verwachte_einddatum,
    cast(null as varchar), cast(null as boolean), cast(null as varchar), cast(null as double precision),
    cast(null as date), cast(null as varchar), cast(null as bigint), cast(null as bigint), cast(null as bigint),
    cast(null as bigint), cast(null as varchar), cast(null as date), cast(null as varchar),
    cast(null as varchar)
from {{ ref('stg_mbo__inschrijvingen') }} as i

union all

select
    d.regio_code, d.persoon_id, d.partner_id, d.partner_kind,
    cast('mbo_diplomas' as varchar) as bron_dataset,
    cast(d.crebo as varchar) as bron_sleutel,
    d.delivery_id, d.peildatum, d.geladen_op, cast(null as varchar),
    cast(null as varchar), cast(null as bigint), cast(null as varchar), false,
    cast(null as date), cast(null as date), cast(null as varchar), cast(null as date), cast(null as varchar),
    cast(null as boolean), cast(null as boolean), cast(null as bigint),
    d.crebo, d.niveau, d.diplomadatum, cast(null as varchar), cast(null as date),
    cast(null as varchar), cast(null as boolean), cast(null as varchar), cast(null as double precision),
    cast(null as date), cast(null as varchar), cast(null as bigint), cast(null as bigint), cast(null as bigint),
    cast(null as bigint), cast(null as varchar), cast(null as date), cast(null as varchar),
    cast(null as varchar)
from {{ ref('stg_mbo__diplomas') }} as d
