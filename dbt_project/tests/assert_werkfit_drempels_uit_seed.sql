-- The thresholds in the assessment are those of the version's seed row (no constants in SQL).
select f.persoon_id, f.definitie_versie
from {{ ref('fct_werkfit_beoordeling') }} as f
inner join {{ ref('werkfit_definitie') }} as d on d.definitie_versie = f.definitie_versie
where f.min_uren_werkfit <> d.min_uren_werkfit or f.min_taal_werkfit <> d.min_taal_werkfit
