{#- Shared SQL fragments, written once and used by several models. -#}

{#- Latest row per partner and key: latest peildatum, then geladen_op, then delivery_id. -#}
{% macro latest_row_number(key_columns) -%}
    row_number() over (
        partition by partner_id, {{ key_columns | join(', ') }}
        order by peildatum desc nulls last, geladen_op desc nulls last, delivery_id desc nulls last
    )
{%- endmacro %}

{#- First day of the month of a date (DATE on both DuckDB and PostgreSQL). -#}
{% macro maand(column) -%}
    cast(date_trunc('month', {{ column }}) as date)
{%- endmacro %}

{#- CEFR level as an ordinal (A0=0 .. C2=6), NULL when unknown. -#}
{% macro taal_rang(column) -%}
    case {{ column }}
        when 'A0' then 0 when 'A1' then 1 when 'A2' then 2 when 'B1' then 3
        when 'B2' then 4 when 'C1' then 5 when 'C2' then 6
    end
{%- endmacro %}

{#-
  Precedence of the regeling (and so doelgroep) of a person, used by int_personen_samengevoegd and
  kpi_regio_maand: rows of the partner that pays the benefit first (regeling.betaler = partner kind),
  then active rows, then the most recent peildatum, geladen_op and delivery_id.
  Expects columns is_betaler (boolean), status, peildatum, geladen_op, delivery_id.
-#}
{% macro regeling_precedence_order() -%}
    case when is_betaler then 0 else 1 end,
    case when status = 'actief' then 0 else 1 end,
    peildatum desc nulls last, geladen_op desc nulls last, delivery_id desc nulls last
{%- endmacro %}

{#-
  The most recent value(s) per person from int_kandidaat_bronnen-like relation `bron`: one row per
  (regio_code, persoon_id) holding `kolommen` of the most recent row (peildatum, geladen_op, delivery_id)
  that satisfies `voorwaarde`. Columns that belong together (uren + beschikbaar_vanaf) are taken from the
  same row, never mixed.
-#}
{% macro meest_recent(bron, kolommen, voorwaarde, volgorde=none) -%}
    {%- set aliassen = [] %}
    {%- for k in kolommen %}{% do aliassen.append(k.split(' as ')[-1] | trim) %}{% endfor %}
    select regio_code, persoon_id, {{ aliassen | join(', ') }}
    from (
        select
            regio_code, persoon_id, {{ kolommen | join(', ') }},
            row_number() over (
                partition by regio_code, persoon_id
                order by {{ volgorde or 'peildatum desc nulls last, geladen_op desc nulls last, delivery_id desc nulls last, partner_id' }}
            ) as rij_nr
        from {{ bron }}
        where {{ voorwaarde }}
    ) as kandidaten
    where rij_nr = 1
{%- endmacro %}

{#- A number as readable text, same on DuckDB and PostgreSQL: 12.0 -> '12', 12.5 -> '12.5'. -#}
{% macro getal_tekst(column) -%}
    case when {{ column }} = floor({{ column }}) then cast(cast({{ column }} as bigint) as varchar)
         else cast({{ column }} as varchar) end
{%- endmacro %}

{#- The adopted werkfit version as a one-row, one-column query (definitie_versie): the vastgesteld version
    with the latest geldig_vanaf (then the highest version string). Used by every model that reports one
    status per person (kpi_regio_maand, int_kandidaat_status, kpi_vacatures_isco_maand). -#}
{% macro vastgestelde_werkfit_versie() -%}
    {{ vastgestelde_versie('werkfit_definitie', 'definitie_versie') }}
{%- endmacro %}

{#- The adopted version of a versioned definition seed (werkfit_definitie, match_definitie) as a one-row,
    one-column query: the vastgesteld version with the latest geldig_vanaf, then the highest version string. -#}
{% macro vastgestelde_versie(seed, versie_kolom) -%}
    select {{ versie_kolom }}
    from (
        select {{ versie_kolom }},
               row_number() over (order by geldig_vanaf desc, {{ versie_kolom }} desc) as rij_nr
        from {{ ref(seed) }}
        where status = 'vastgesteld'
    ) as vastgesteld
    where rij_nr = 1
{%- endmacro %}

{#- A primary key on PostgreSQL (BI tools and the planner use it); nothing on DuckDB, where building the index
    of a large table costs more than the table itself. Uniqueness is tested on both (regiowerk_unique_combination).
    For a table model's post_hook. -#}
{% macro primary_key_on_postgres(columns) -%}
    {%- if target.type == 'postgres' -%}
        alter table {{ this }} add primary key ({{ columns | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#- THE age-group rule of the KPIs, written once: age = year of the peildatum (for a monthly stock: the
    reporting month) minus geboortejaar (only the birth year is stored), so it is the age the person reaches in
    that calendar year. tot_27 (< 27), 27_54 (27 to 54), 55_plus (55 and older; a named target group), onbekend
    without geboortejaar. -#}
{% macro leeftijdsgroep(peildatum, geboortejaar) -%}
    case
        when {{ geboortejaar }} is null then 'onbekend'
        when extract(year from {{ peildatum }}) - {{ geboortejaar }} < 27 then 'tot_27'
        when extract(year from {{ peildatum }}) - {{ geboortejaar }} < 55 then '27_54'
        else '55_plus'
    end
{%- endmacro %}

{#- The reporting months of a region as a query (regio_code, maand): months with a werkzoekenden or vacatures
    delivery (peildatum) of a partner of the region. Used by kpi_vacatures_isco_maand and kpi_spanning_beroep for
    their vacancy rows, and by int_vacatures_open_per_maand for its last month. -#}
{% macro rapportagemaanden() -%}
    select distinct regio_code, {{ maand('peildatum') }} as maand
    from {{ ref('stg_platform__werkzoekenden_historie') }}
    union
    select distinct regio_code, {{ maand('peildatum') }} as maand
    from {{ source('raw', 'vacatures') }}
{%- endmacro %}
