{#- Compare every pair of werkfit versions (versie_van earlier than versie_naar by geldig_vanaf) per region
    and doelgroep: the status counts under each version and how many persons change status. Persons who are
    no active job seeker (geen_werkzoekende, the same under every version) are not compared. -#}
{%- set statussen = ['werkfit', 'werkfit_met_ondersteuning', 'in_ontwikkeling', 'niet_bemiddelbaar', 'onbekend'] %}
with paren as (
    select van.definitie_versie as versie_van, naar.definitie_versie as versie_naar
    from {{ ref('werkfit_definitie') }} as van
    inner join {{ ref('werkfit_definitie') }} as naar
        on van.geldig_vanaf < naar.geldig_vanaf
        or (van.geldig_vanaf = naar.geldig_vanaf and van.definitie_versie < naar.definitie_versie)
),

beoordeling as (
    select f.persoon_id, f.regio_code, k.doelgroep, f.definitie_versie, f.werkfit_status
    from {{ ref('fct_werkfit_beoordeling') }} as f
    inner join {{ ref('dim_kandidaat') }} as k
        on k.persoon_id = f.persoon_id and k.regio_code = f.regio_code
    where f.werkfit_status <> 'geen_werkzoekende'
),

vergeleken as (
    select
        van.regio_code, van.doelgroep, p.versie_van, p.versie_naar,
        van.werkfit_status as status_van, naar.werkfit_status as status_naar
    from paren as p
    inner join beoordeling as van on van.definitie_versie = p.versie_van
    inner join beoordeling as naar
        on naar.definitie_versie = p.versie_naar
        and naar.persoon_id = van.persoon_id and naar.regio_code = van.regio_code
)

select
    regio_code,
    doelgroep,
    versie_van,
    versie_naar,
    count(*) as aantal_personen,
{%- for s in statussen %}
    sum(case when status_van = '{{ s }}' then 1 else 0 end) as van_{{ s }},
    sum(case when status_naar = '{{ s }}' then 1 else 0 end) as naar_{{ s }},
{%- endfor %}
    sum(case when status_van <> status_naar then 1 else 0 end) as aantal_gewijzigd
from vergeleken
group by regio_code, doelgroep, versie_van, versie_naar
