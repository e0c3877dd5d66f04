{#-
  The current profile and werkfit status of each person, one row per (regio_code, persoon_id): the record
  that snapshot snap_kandidaat_status keeps the history of (strategy check). werkfit_status / afstand /
  redenen are those of the adopted version (macro vastgestelde_werkfit_versie); when the adopted version
  changes, werkfit_definitie_versie changes and the snapshot records a new version for everyone.
-#}
with versie as (
    {{ vastgestelde_werkfit_versie() }}
)

select
    k.regio_code,
    k.persoon_id,
    k.gemeente_code,
    k.regeling,
    k.doelgroep,
    k.werkzoekende_status,
    f.definitie_versie as werkfit_definitie_versie,
    f.werkfit_status,
    f.afstand,
    f.redenen as werkfit_redenen,
    k.uren_beschikbaar_per_week,
    k.laatst_bijgewerkt as peildatum
from {{ ref('dim_kandidaat') }} as k
inner join {{ ref('fct_werkfit_beoordeling') }} as f
    on f.persoon_id = k.persoon_id and f.regio_code = k.regio_code
inner join versie as v on v.definitie_versie = f.definitie_versie
