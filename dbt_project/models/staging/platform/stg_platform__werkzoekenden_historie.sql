-- Every delivered state of a job seeker (gemeente and uwv): one row per partner, persoon_id and peildatum
-- (a re-delivery of the same peildatum keeps the latest load). uit_volledige_levering: the row's delivery holds
-- the partner's full dataset (audit.deliveries.volledig), so a person missing from it has left that partner's
-- books. Used for the monthly stock (int_werkzoekende_maandstand) and instroom/uitstroom (kpi_regio_maand).
with bron as (
    select w.*, p.kind as partner_kind, coalesce(d.volledig, false) as uit_volledige_levering
    from {{ source('raw', 'werkzoekenden') }} as w
    inner join {{ ref('stg_platform__partners') }} as p on p.partner_id = w.partner_id
    left join {{ source('audit', 'deliveries') }} as d
        on d.delivery_id = w.delivery_id and d.partner_id = w.partner_id and d.dataset = 'werkzoekenden'
    where p.kind in ('gemeente', 'uwv')
),

gerangschikt as (
    select bron.*, {{ latest_row_number(['persoon_id', 'peildatum']) }} as rij_nr
    from bron
)

select
    partner_id, partner_kind, regio_code, delivery_id, persoon_id, gemeente_code, geboortejaar, regeling,
    regeling_start, regeling_einde, status, uitstroom_datum, uitstroom_reden, doelgroepregister, peildatum,
    geladen_op, uit_volledige_levering
from gerangschikt
where rij_nr = 1
