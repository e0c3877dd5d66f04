{#-
  Month-on-month werkfit trend: per regio_code, gemeente_code, maand, doelgroep, werkfit_definitie_versie and
  werkfit_status the number of active job seekers at the end of the month, under THE month rule
  (int_werkzoekende_maandstand): the stock from the deliveries' peildatum, the status from the status history
  (snapshot snap_kandidaat_status) by peildatum. The same stock in the same month as kpi_regio_maand: per month
  the sum over statuses equals kpi_regio_maand's sum of aantal_<status>. Months without a status history (before
  the warehouse's first build) have no rows.
-#}
select
    regio_code,
    coalesce(gemeente_code, 'onbekend') as gemeente_code,
    maand,
    doelgroep,
    werkfit_definitie_versie,
    werkfit_status,
    count(distinct persoon_id) as aantal_werkzoekenden
from {{ ref('int_werkzoekende_maandstand') }}
where werkzoekende_status = 'actief' and werkfit_status is not null
group by regio_code, coalesce(gemeente_code, 'onbekend'), maand, doelgroep, werkfit_definitie_versie, werkfit_status
