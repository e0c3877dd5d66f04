{#-
  One row per (regio_code, persoon_id): the same persoon_id (pseudonym with the region's key) unified across
  gemeente, UWV and MBO. THE field precedence of the platform, written once (see _intermediate.yml):
    gemeente_code            most recent row that has one (werkzoekenden, mbo_inschrijvingen)
    postcode4, geboortejaar  most recent non-null, each
    regeling (+ start, status, uitstroom)
                             the benefit-paying partner's row first (regelingen.betaler_kind = partner kind),
                             then active rows, then the most recent peildatum (macro regeling_precedence_order)
    opleidingsniveau         an MBO diploma (highest niveau, mapped via seed mbo_niveau_vum) beats a
                             self-reported level; else the most recent self-reported level (7 = unknown: ignored)
    taalniveau_nl (+ taalroute), rijbewijzen, beroepswensen, competenties, ontheffing_arbeidsplicht,
    doelgroepregister
                             most recent non-null, each
    uren_beschikbaar_per_week + beschikbaar_vanaf
                             together from the most recent row that has either (never mixed)
    regelingen               every regeling of the person's active werkzoekenden rows (latest row per partner),
                             sorted and comma-separated: which werkfit criteria apply (seed
                             werkfit_criterium_toepassing); NULL when no source has the person as active job seeker
    instruments              per instrument the most recent score with its date (never averaged)
-#}
{% set bron = ref('int_kandidaat_bronnen') %}

with personen as (
    select
        regio_code,
        persoon_id,
        string_agg(distinct partner_id, ',' order by partner_id) as bronnen,
        max(peildatum) as laatst_bijgewerkt,
        bool_or(bron_dataset = 'mbo_inschrijvingen' and inschrijving_status = 'actief') as mbo_actief
    from {{ bron }}
    group by regio_code, persoon_id
),

actieve_regelingen as (
    select regio_code, persoon_id, string_agg(distinct regeling, ',' order by regeling) as regelingen
    from {{ bron }}
    where bron_dataset = 'werkzoekenden' and regeling is not null and status = 'actief'
    group by regio_code, persoon_id
),

gemeente as (
    {{ meest_recent(bron, ['gemeente_code'], "gemeente_code is not null") }}
),

postcode as (
    {{ meest_recent(bron, ['postcode4'], "postcode4 is not null") }}
),

geboorte as (
    {{ meest_recent(bron, ['geboortejaar'], "geboortejaar is not null") }}
),

regeling as (
    {{ meest_recent(bron,
        ['regeling', 'regeling_start', 'regeling_einde', 'status', 'uitstroom_datum', 'uitstroom_reden',
         'partner_id as regeling_partner_id'],
        "bron_dataset = 'werkzoekenden' and regeling is not null",
        volgorde=regeling_precedence_order()) }}
),

diploma as (
    {{ meest_recent(bron, ['crebo', 'mbo_niveau', 'diplomadatum'],
        "bron_dataset = 'mbo_diplomas'",
        volgorde='mbo_niveau desc, diplomadatum desc nulls last, crebo') }}
),

zelf_opleiding as (
    {{ meest_recent(bron, ['opleidingsniveau'], "opleidingsniveau is not null and opleidingsniveau <> 7") }}
),

taal as (
    {{ meest_recent(bron, ['taalniveau_nl', 'taalroute'], "taalniveau_nl is not null") }}
),

rijbewijs as (
    {{ meest_recent(bron, ['rijbewijzen'], "rijbewijzen is not null") }}
),

wensen as (
    {{ meest_recent(bron, ['beroepswensen'], "beroepswensen is not null") }}
),

competenties as (
    {{ meest_recent(bron, ['competenties'], "competenties is not null") }}
),

ontheffing as (
    {{ meest_recent(bron, ['ontheffing_arbeidsplicht'], "ontheffing_arbeidsplicht is not null") }}
),

register as (
    {{ meest_recent(bron, ['doelgroepregister'], "doelgroepregister is not null") }}
),

ondersteuning as (
    {{ meest_recent(bron, ['ondersteuning'], "ondersteuning is not null") }}
),

beschikbaarheid as (
    {{ meest_recent(bron, ['uren_beschikbaar_per_week', 'beschikbaar_vanaf'],
        "uren_beschikbaar_per_week is not null or beschikbaar_vanaf is not null") }}
),

{%- set instrumenten = ['participatieladder', 'zrm_werk_opleiding', 'werkverkenner_band'] %}
{%- for instrument in instrumenten %}
{{ instrument }} as (
    {{ meest_recent(bron,
        [instrument, 'coalesce(instrument_datum, peildatum) as ' ~ instrument ~ '_datum']
        + (['zrm_laagste_domein'] if instrument == 'zrm_werk_opleiding' else []),
        instrument ~ ' is not null',
        volgorde='coalesce(instrument_datum, peildatum) desc nulls last, ' ~ instrument ~ ', peildatum desc, geladen_op desc') }}
),
{%- endfor %}

mbo_vum as (
    select mbo_niveau, vum_werk_en_denkniveau from {{ ref('mbo_niveau_vum') }}
)

select
    p.persoon_id,
    p.regio_code,
    gemeente.gemeente_code,
    postcode.postcode4,
    geboorte.geboortejaar,
    regeling.regeling,
    coalesce(r.doelgroep, 'onbekend') as doelgroep,
    regeling.regeling_partner_id,
    regeling.regeling_start,
    regeling.regeling_einde,
    regeling.status as werkzoekende_status,
    regeling.uitstroom_datum,
    regeling.uitstroom_reden,
    actieve_regelingen.regelingen,
    case
        when diploma.mbo_niveau is not null then cast(mbo_vum.vum_werk_en_denkniveau as bigint)
        else zelf_opleiding.opleidingsniveau
    end as opleidingsniveau,
    case
        when diploma.mbo_niveau is not null then 'mbo_diploma'
        when zelf_opleiding.opleidingsniveau is not null then 'zelfgerapporteerd'
    end as opleidingsniveau_bron,
    diploma.crebo as hoogste_crebo,
    diploma.mbo_niveau as hoogste_mbo_niveau,
    taal.taalniveau_nl,
    taal.taalroute,
    rijbewijs.rijbewijzen,
    beschikbaarheid.uren_beschikbaar_per_week,
    beschikbaarheid.beschikbaar_vanaf,
    wensen.beroepswensen,
    competenties.competenties,
    ondersteuning.ondersteuning,
    participatieladder.participatieladder,
    participatieladder.participatieladder_datum,
    zrm_werk_opleiding.zrm_werk_opleiding,
    zrm_werk_opleiding.zrm_laagste_domein,
    zrm_werk_opleiding.zrm_werk_opleiding_datum,
    werkverkenner_band.werkverkenner_band,
    werkverkenner_band.werkverkenner_band_datum,
    ontheffing.ontheffing_arbeidsplicht,
    register.doelgroepregister,
    coalesce(p.mbo_actief, false) as mbo_actief,
    p.bronnen,
    p.laatst_bijgewerkt
from personen as p
{%- for cte in ['actieve_regelingen', 'gemeente', 'postcode', 'geboorte', 'regeling', 'diploma', 'zelf_opleiding',
                'taal', 'rijbewijs', 'wensen', 'competenties', 'ontheffing', 'register', 'ondersteuning', 'beschikbaarheid']
                + instrumenten %}
left join {{ cte }} on {{ cte }}.regio_code = p.regio_code and {{ cte }}.persoon_id = p.persoon_id
{%- endfor %}
left join {{ ref('regelingen') }} as r on r.regeling = regeling.regeling
left join mbo_vum on mbo_vum.mbo_niveau = diploma.mbo_niveau
