{#- The latest `dbt source freshness` result per partner dataset (audit.bronversheid, appended by the warehouse
    DAG's source_freshness task). -#}
with laatste as (
    select
        partner_id,
        dataset,
        status,
        max_loaded_at,
        age_hours,
        warn_after_hours,
        error_after_hours,
        checked_at,
        row_number() over (partition by partner_id, dataset order by checked_at desc) as volgorde
    from {{ source('audit_operations', 'bronversheid') }}
)

select
    l.partner_id,
    p.naam as partner_naam,
    l.dataset,
    l.max_loaded_at as laatst_geladen_op,
    l.age_hours as leeftijd_uren,
    l.status,
    l.status <> 'pass' as te_laat,
    l.warn_after_hours as waarschuwen_na_uren,
    l.error_after_hours as fout_na_uren,
    l.checked_at as gecontroleerd_op
from laatste as l
left join {{ source('raw', 'partners') }} as p on p.partner_id = l.partner_id
where l.volgorde = 1
