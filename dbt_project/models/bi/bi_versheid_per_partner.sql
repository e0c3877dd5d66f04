{{ config(schema='bi', alias='versheid_per_partner', materialized='view') }}
{#- operations.versheid_per_partner for the freshness dashboard: the latest freshness check per partner
    dataset (about deliveries, not persons: nothing to suppress). -#}
select
    partner_id, partner_naam, dataset, laatst_geladen_op, leeftijd_uren, status, te_laat,
    waarschuwen_na_uren, fout_na_uren, gecontroleerd_op
from {{ ref('versheid_per_partner') }}
