{#-
  Cross-database handling of the comma-separated list columns (rijbewijzen, beroepswensen, ondersteuning,
  rijbewijs_vereist). raw stores lists as VARCHAR "B,BE"; DuckDB splits with string_split, PostgreSQL with
  string_to_array. Everything else in the project uses these macros, never the functions directly.
-#}

{% macro split_list(column) -%}
    {{ return(adapter.dispatch('split_list', 'regiowerk')(column)) }}
{%- endmacro %}

{% macro default__split_list(column) -%}
    string_to_array({{ column }}, ',')
{%- endmacro %}

{% macro duckdb__split_list(column) -%}
    string_split({{ column }}, ',')
{%- endmacro %}


{#- Trim, drop empty items, de-duplicate and sort: "B, AM,B," -> "AM,B"; NULL/empty stays NULL. -#}
{% macro normalise_list(column) -%}
    (
        select string_agg(distinct trim(lijst_item), ',' order by trim(lijst_item))
        from unnest({{ split_list(column) }}) as lijst(lijst_item)
        where trim(lijst_item) <> ''
    )
{%- endmacro %}


{#- True when the list column contains the (trimmed) item; NULL when the list is NULL. -#}
{% macro list_contains(column, item) -%}
    {{ return(adapter.dispatch('list_contains', 'regiowerk')(column, item)) }}
{%- endmacro %}

{% macro default__list_contains(column, item) -%}
    case when {{ column }} is null then null
         else {{ item }} = any({{ split_list(column) }}) end
{%- endmacro %}

{% macro duckdb__list_contains(column, item) -%}
    case when {{ column }} is null then null
         else list_contains({{ split_list(column) }}, {{ item }}) end
{%- endmacro %}


{#- Number of items in a list column (0 for NULL). -#}
{% macro list_length(column) -%}
    {{ return(adapter.dispatch('list_length', 'regiowerk')(column)) }}
{%- endmacro %}

{% macro default__list_length(column) -%}
    coalesce(cardinality({{ split_list(column) }}), 0)
{%- endmacro %}

{% macro duckdb__list_length(column) -%}
    coalesce(len({{ split_list(column) }}), 0)
{%- endmacro %}


{#- Split a text column on a (multi-character) separator into an array/list, e.g. audit.quarantine.redenen
    on '; '. Use with unnest() in the select list (works on DuckDB and PostgreSQL). -#}
{% macro split_text(column, separator) -%}
    {{ return(adapter.dispatch('split_text', 'regiowerk')(column, separator)) }}
{%- endmacro %}

{% macro default__split_text(column, separator) -%}
    string_to_array({{ column }}, '{{ separator }}')
{%- endmacro %}

{% macro duckdb__split_text(column, separator) -%}
    string_split({{ column }}, '{{ separator }}')
{%- endmacro %}


{#- Capture group `groep` (1-based) of a POSIX/RE2-compatible regular expression `patroon` (a plain string,
    not yet quoted) in `column`; NULL when the expression does not match (an empty group stays ''). -#}
{% macro regex_groep(column, patroon, groep) -%}
    {{ return(adapter.dispatch('regex_groep', 'regiowerk')(column, patroon, groep)) }}
{%- endmacro %}

{% macro default__regex_groep(column, patroon, groep) -%}
    (regexp_match({{ column }}, '{{ patroon | replace("'", "''") }}'))[{{ groep }}]
{%- endmacro %}

{% macro duckdb__regex_groep(column, patroon, groep) -%}
    case when regexp_matches({{ column }}, '{{ patroon | replace("'", "''") }}')
         then regexp_extract({{ column }}, '{{ patroon | replace("'", "''") }}', {{ groep }}) end
{%- endmacro %}
