-- Every delivered state of a job seeker (gemeente and uwv): one row per partner, persoon_id and peildatum
-- (a re-delivery of the same peildatum keeps the latest load). Used for monthly KPIs (kpi_regio_maand).
with bron as (
    select w.*, p.kind as partner_kind
    from {{ source('raw', 'werkzoekenden') }} as w
    inner join {{ ref('stg_platform__partners') }} as p on p.partner_id = w.partner_id
    where p.kind in ('gemeente', 'uwv')
),

gerangschikt as (
    select bron.*, {{ latest_row_number(['persoon_id', 'peildatum']) }} as rij_nr
    from bron
)

select
    partner_id, partner_kind, regio_code, delivery_id, persoon_id, gemeente_code, regeling,
    regeling_start, regeling_einde, status, uitstroom_datum, uitstroom_reden, peildatum, geladen_op
from gerangschikt
where rij_nr = 1
