-- Every werkfit version states for every criterion and every regeling whether it applies
-- (seed werkfit_criterium_toepassing): a missing row would silently fall back to "van toepassing".
with criteria as (
    select distinct criterium from {{ ref('werkfit_criterium_toepassing') }}
),

verwacht as (
    select d.definitie_versie, c.criterium, r.regeling
    from {{ ref('werkfit_definitie') }} as d
    cross join criteria as c
    cross join {{ ref('regelingen') }} as r
)

select v.definitie_versie, v.criterium, v.regeling
from verwacht as v
left join {{ ref('werkfit_criterium_toepassing') }} as t
    on t.definitie_versie = v.definitie_versie and t.criterium = v.criterium and t.regeling = v.regeling
where t.regeling is null
