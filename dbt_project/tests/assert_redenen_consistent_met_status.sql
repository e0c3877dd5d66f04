-- Every non-werkfit status carries a non-empty reason; werkfit carries the empty string.
select persoon_id, regio_code, definitie_versie, werkfit_status, redenen
from {{ ref('fct_werkfit_beoordeling') }}
where (werkfit_status = 'werkfit' and coalesce(redenen, '-') <> '')
   or (werkfit_status <> 'werkfit' and coalesce(trim(redenen), '') = '')
