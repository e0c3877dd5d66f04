-- MBO enrolments: the latest row per partner and (persoon_id, crebo, startdatum).
with {{ latest_partner_rows('mbo_inschrijvingen', 'mbo', ['persoon_id', 'crebo', 'startdatum']) }}

select
    partner_id, partner_kind, regio_code, delivery_id, bron_rij, persoon_id, gemeente_code, brin, crebo,
    niveau, leerweg, sector, startdatum, verwachte_einddatum, status, peildatum, geladen_op
from gerangschikt
where rij_nr = 1
