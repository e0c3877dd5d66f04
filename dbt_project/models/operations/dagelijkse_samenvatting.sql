{#- Per day, partner and dataset: what arrived (audit.deliveries, by the day it was received) and whether the
    partner dataset was late at the last freshness check of that day (audit.bronversheid). Counts only. -#}
with leveringen as (
    select
        cast(received_at as date) as dag,
        partner_id,
        dataset,
        count(*) as leveringen_ontvangen,
        sum(case when status = 'loaded' then 1 else 0 end) as leveringen_geladen,
        sum(case when status = 'rejected' then 1 else 0 end) as leveringen_afgewezen,
        sum(rows_received) as rijen_ontvangen,
        sum(rows_loaded) as rijen_geladen,
        sum(rows_quarantined) as rijen_in_quarantaine
    from {{ source('audit', 'deliveries') }}
    group by 1, 2, 3
),

controles as (
    select
        cast(checked_at as date) as dag,
        partner_id,
        dataset,
        status,
        row_number() over (
            partition by cast(checked_at as date), partner_id, dataset order by checked_at desc
        ) as volgorde
    from {{ source('audit_operations', 'bronversheid') }}
),

versheid as (
    select dag, partner_id, dataset, status from controles
where volgorde = 1
)

select
    coalesce(l.dag, v.dag) as dag,
    coalesce(l.partner_id, v.partner_id) as partner_id,
    coalesce(l.dataset, v.dataset) as dataset,
    cast(coalesce(l.leveringen_ontvangen, 0) as bigint) as leveringen_ontvangen,
    cast(coalesce(l.leveringen_geladen, 0) as bigint) as leveringen_geladen,
    cast(coalesce(l.leveringen_afgewezen, 0) as bigint) as leveringen_afgewezen,
    cast(coalesce(l.rijen_ontvangen, 0) as bigint) as rijen_ontvangen,
    cast(coalesce(l.rijen_geladen, 0) as bigint) as rijen_geladen,
    cast(coalesce(l.rijen_in_quarantaine, 0) as bigint) as rijen_in_quarantaine,
    v.status as versheid_status,
    coalesce(v.status <> 'pass', false) as te_laat
from leveringen as l
full outer join versheid as v
    on l.dag = v.dag and l.partner_id = v.partner_id and l.dataset = v.dataset
