{#- The adopted match definition as a one-row, one-column query (match_versie): the vastgesteld version of
    seed match_definitie with the latest geldig_vanaf (then the highest version string). -#}
{% macro vastgestelde_match_versie() -%}
    select match_versie
    from (
        select match_versie,
               row_number() over (order by geldig_vanaf desc, match_versie desc) as rij_nr
        from {{ ref('match_definitie') }}
        where status = 'vastgesteld'
    ) as vastgesteld
    where rij_nr = 1
{%- endmacro %}

{#- A double rounded to `decimalen` places, same type (double precision) on DuckDB and PostgreSQL. -#}
{% macro afgerond(expression, decimalen) -%}
    cast(round(cast({{ expression }} as numeric), {{ decimalen }}) as double precision)
{%- endmacro %}
