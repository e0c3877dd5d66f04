{#- The day `weken` weeks after a date (DATE on DuckDB and PostgreSQL). -#}
{% macro weken_na(column, weken) -%}
    cast({{ column }} + interval '{{ weken * 7 }} days' as date)
{%- endmacro %}

{#- First calendar year of the school year (1 August - 31 July) of a date: 2025-09-01 and 2026-07-31 -> 2025. -#}
{% macro schooljaar(column) -%}
    (cast(extract(year from {{ column }}) as integer) - case when extract(month from {{ column }}) < 8 then 1 else 0 end)
{%- endmacro %}
