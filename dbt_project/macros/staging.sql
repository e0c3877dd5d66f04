{#-
  The first two CTEs of every partner staging model: rows of raw.<table> delivered by partners of one kind
  (from raw.partners, never a partner id), ranked so that rij_nr = 1 is the latest row per partner and key
  (latest peildatum, then geladen_op, then delivery_id).
  It also makes the calling model incremental (delete+insert on partner_id + keys; the keys are required
  columns, never NULL in raw): a daily build ranks only the keys that got new rows since the last build.
  Raw rows are only ever added (a reloaded delivery gets a new geladen_op); after deleting raw rows (retention,
  a withdrawn delivery) run `dbt build --full-refresh`, which rebuilds the same tables from all of raw.
-#}
{% macro latest_partner_rows(table, kind, keys) %}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['partner_id'] + keys,
          on_schema_change='fail') }}
bron as (
    select t.*, p.kind as partner_kind
    from {{ source('raw', table) }} as t
    inner join {{ ref('stg_platform__partners') }} as p on p.partner_id = t.partner_id
    where p.kind = '{{ kind }}'
    {%- if is_incremental() %}
      -- Incremental run: only the keys that received rows since the last build, ranked over *all* their
      -- rows in raw (so an older re-delivery cannot win), then delete+insert on the key.
      and exists (
          select 1 from {{ source('raw', table) }} as nieuw
          where nieuw.geladen_op > (select max(geladen_op) from {{ this }})
            and nieuw.partner_id = t.partner_id
            {%- for key in keys %} and nieuw.{{ key }} = t.{{ key }}{% endfor %}
      )
    {%- endif %}
),

gerangschikt as (
    select bron.*, {{ latest_row_number(keys) }} as rij_nr
    from bron
)
{% endmacro %}

{#-
  Staging of raw.werkzoekenden for one partner kind (gemeente or uwv). The kind comes from raw.partners
  (the registry as a table), never from a partner id. Keeps the latest row per partner and persoon_id
  (latest peildatum, then geladen_op, then delivery_id) and normalises list columns.
-#}
{% macro stg_werkzoekenden(kind) %}
with {{ latest_partner_rows('werkzoekenden', kind, ['persoon_id']) }}

select
    partner_id,
    partner_kind,
    regio_code,
    delivery_id,
    bron_rij,
    persoon_id,
    gemeente_code,
    postcode4,
    geboortejaar,
    regeling,
    regeling_start,
    regeling_einde,
    ontheffing_arbeidsplicht,
    doelgroepregister,
    opleidingsniveau,
    taalniveau_nl,
    taalroute,
    {{ normalise_list('rijbewijzen') }} as rijbewijzen,
    uren_beschikbaar_per_week,
    beschikbaar_vanaf,
    {{ normalise_list('beroepswensen') }} as beroepswensen,
    participatieladder,
    zrm_werk_opleiding,
    zrm_laagste_domein,
    zrm_versie,
    werkverkenner_band,
    eigen_afstand,
    instrument_datum,
    {{ normalise_list('ondersteuning') }} as ondersteuning,
    {{ normalise_list('competenties') }} as competenties,
    status,
    uitstroom_datum,
    uitstroom_reden,
    peildatum,
    geladen_op
from gerangschikt
where rij_nr = 1
{% endmacro %}

{#-
  Staging of raw.plaatsingen for one partner kind (gemeente or uwv): the latest row per partner and placement
  (persoon_id, kvk_nummer, startdatum), list column normalised.
-#}
{% macro stg_plaatsingen(kind) %}
with {{ latest_partner_rows('plaatsingen', kind, ['persoon_id', 'kvk_nummer', 'startdatum']) }}

select
    partner_id,
    partner_kind,
    regio_code,
    delivery_id,
    bron_rij,
    persoon_id,
    kvk_nummer,
    vacature_id,
    startdatum,
    einddatum,
    uren_per_week,
    contractvorm,
    {{ normalise_list('instrumenten') }} as instrumenten,
    peildatum,
    geladen_op
from gerangschikt
where rij_nr = 1
{% endmacro %}
