{#- The adopted match definition: its one row of seed match_definitie (macro vastgestelde_versie picks the
    version), for the pair model and the mart alike. -#}
{% macro vastgestelde_match_definitie() -%}
    select d.*
    from {{ ref('match_definitie') }} as d
    where d.match_versie = ({{ vastgestelde_versie('match_definitie', 'match_versie') }})
{%- endmacro %}

{#- A double rounded to `decimalen` places, same type (double precision) on DuckDB and PostgreSQL. -#}
{% macro afgerond(expression, decimalen) -%}
    cast(round(cast({{ expression }} as numeric), {{ decimalen }}) as double precision)
{%- endmacro %}
