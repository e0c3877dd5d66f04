{#-
  Unmapped local codes per partner, for the region's data engineers (domain guide §5 "unmapped codes"):
  parsed from audit.quarantine.redenen, which holds '; '-separated reasons written by the loader, e.g.
    regeling: local code 'XX' has no mapping (partners/gemeente_x.yml datasets.werkzoekenden.values.regeling)
  One row per (partner_id, dataset, kolom, lokale_code). The regular expression runs through the
  adapter-dispatched macro regex_groep (DuckDB regexp_extract, PostgreSQL regexp_match). Local codes the
  loader shortened (50 characters, then '…') or made inert (a leading "'") appear as written in the reason.
-#}
{%- set patroon = "^([A-Za-z0-9_]+): local code '(.*)' has no mapping [(](.*)[)]$" %}
with redenen as (
    select
        q.partner_id,
        q.dataset,
        q.delivery_id,
        q.bron_rij,
        q.status,
        q.quarantined_at,
        trim(unnest({{ split_text('q.redenen', '; ') }})) as reden
    from {{ source('audit', 'quarantine') }} as q
),

codes as (
    select
        redenen.*,
        {{ regex_groep('reden', patroon, 1) }} as kolom,
        {{ regex_groep('reden', patroon, 2) }} as lokale_code,
        {{ regex_groep('reden', patroon, 3) }} as mapping_pad
    from redenen
)

select
    partner_id,
    dataset,
    kolom,
    lokale_code,
    count(distinct delivery_id || '|' || cast(bron_rij as varchar)) as aantal_rijen,
    count(distinct case when status = 'open' then delivery_id || '|' || cast(bron_rij as varchar) end)
        as aantal_rijen_open,
    count(distinct delivery_id) as aantal_leveringen,
    min(quarantined_at) as eerste_gezien,
    max(quarantined_at) as laatst_gezien,
    max(mapping_pad) as mapping_pad
from codes
where kolom is not null
group by partner_id, dataset, kolom, lokale_code
