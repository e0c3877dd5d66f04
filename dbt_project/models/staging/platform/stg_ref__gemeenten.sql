-- One row per gemeente with its arbeidsmarktregio from the most recent indeling year in the seed.
with gerangschikt as (
    select
        gemeente_code,
        gemeente_naam,
        regio_code,
        regio_naam,
        valid_year,
        row_number() over (partition by gemeente_code order by valid_year desc) as rij_nr
    from {{ ref('ref_arbeidsmarktregios') }}
)

select gemeente_code, gemeente_naam, regio_code, regio_naam, valid_year
from gerangschikt
where rij_nr = 1
