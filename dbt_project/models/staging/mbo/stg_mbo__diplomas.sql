-- MBO diplomas: the latest row per partner and (persoon_id, crebo).
with {{ latest_partner_rows('mbo_diplomas', 'mbo', ['persoon_id', 'crebo']) }}

select
    partner_id, partner_kind, regio_code, delivery_id, bron_rij, persoon_id, brin, crebo, niveau, sector,
    diplomadatum, peildatum, geladen_op
from gerangschikt
where rij_nr = 1
