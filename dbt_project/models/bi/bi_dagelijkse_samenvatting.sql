{{ config(schema='bi', alias='dagelijkse_samenvatting', materialized='view') }}
{#- operations.dagelijkse_samenvatting for the delivery-quality dashboard: counts of deliveries and rows per
    day, partner and dataset (about deliveries, not persons: nothing to suppress). -#}
select
    dag, partner_id, dataset, leveringen_ontvangen, leveringen_geladen, leveringen_afgewezen,
    rijen_ontvangen, rijen_geladen, rijen_in_quarantaine, versheid_status, te_laat
from {{ ref('dagelijkse_samenvatting') }}
