{#-
  Small-cell suppression for the `bi` schema: the one place of the rule (every bi_<mart> model calls it).

  Counts of persons below var('bi_suppression_threshold') (default 10, CBS output practice for microdata: see
  the docstring of plugins/regiowerk/access.py) are published as NULL, with `onderdrukt = true` on the row.
  Zero stays visible (it discloses nobody). Secondary suppression: in every group of cells that add up to a
  visible total or to each other, where exactly one cell is suppressed, the next smallest cell (preferring
  non-zero) is suppressed too:
    - row groups: measures of one row that add up (`row_groups`: measure -> group name), e.g. the werkfit
      statuses of a row;
    - column groups: each measure across the values of a `spreads` key (e.g. the doelgroepen of one
      gemeente and month), with all other keys fixed.
  Row and column passes alternate `rounds` times. A pragmatic rule, not an optimal cell suppression (tau-ARGUS).

  relation   the aggregate mart (a ref)
  keys       the grain of the mart
  spreads    key(s) whose values add up (column groups)
  measures   person counts (suppressed)
  carry      other columns, passed through (vacancy counts, versions: not about persons)
  dependent  column -> measures it is computed from (a ratio): NULL when any of those is suppressed
  Only constant names from the model files reach this macro.
-#}
{% macro suppress_small_cells(relation, keys, spreads, measures, carry=[], row_groups={}, dependent={}, rounds=3) -%}
{%- set threshold = var('bi_suppression_threshold', 10) | int -%}
{%- if threshold < 1 -%}
    {{ exceptions.raise_compiler_error("bi_suppression_threshold must be a positive integer") }}
{%- endif -%}
{%- set spreads = [spreads] if spreads is string else spreads -%}
{%- set kc = keys + carry -%}
{%- set passes = [] -%}
{%- for r in range(rounds) -%}
    {%- if row_groups -%}{%- do passes.append(none) -%}{%- endif -%}
    {%- for s in spreads -%}{%- do passes.append(s) -%}{%- endfor -%}
{%- endfor -%}
with lang as (
{%- for m in measures %}
    select
        {% for c in kc + dependent.keys() | list %}{{ c }}, {% endfor %}'{{ m }}' as maat,
        cast({{ m }} as bigint) as waarde,
        {% if m in row_groups %}cast('{{ row_groups[m] }}' as varchar){% else %}cast(null as varchar){% endif %} as rijgroep
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
),

r0 as (
    select lang.*, coalesce(waarde > 0 and waarde < {{ threshold }}, false) as onderdrukt
    from lang
),
{%- for spread in passes %}
{%- set prev = 'r' ~ loop.index0 %}
{%- if spread is none %}
{%- set partition = (keys + ['rijgroep']) | join(', ') %}
{%- set applies = 'rijgroep is not null' %}
{%- else %}
{%- set partition = ((keys | reject('equalto', spread) | list) + ['maat']) | join(', ') %}
{%- set applies = 'true' %}
{%- endif %}

s{{ loop.index }} as (
    select
        {{ prev }}.*,
        sum(case when onderdrukt then 1 else 0 end) over (partition by {{ partition }}) as n_onderdrukt,
        count(*) over (partition by {{ partition }}) as n_cellen,
        row_number() over (
            partition by {{ partition }}
            order by onderdrukt, waarde = 0 nulls last, waarde nulls last, maat
        ) as volgorde
    from {{ prev }}
),

r{{ loop.index }} as (
    select
        {% for c in kc + dependent.keys() | list %}{{ c }}, {% endfor %}maat, waarde, rijgroep,
        onderdrukt or ({{ applies }} and n_onderdrukt = 1 and n_cellen > 1 and volgorde = 1) as onderdrukt
    from s{{ loop.index }}
),
{%- endfor %}

onderdrukt as (select * from r{{ passes | length }})

select
    {% for c in kc %}{{ c }},
    {% endfor %}
{%- for m in measures %}
    case
        when max(case when onderdrukt and maat = '{{ m }}' then 1 else 0 end) = 1 then null
        else max(case when maat = '{{ m }}' then waarde end)
    end as {{ m }},
{%- endfor %}
{%- for c, bronnen in dependent.items() %}
    case
        when max(case when onderdrukt and maat in ('{{ bronnen | join("', '") }}') then 1 else 0 end) = 1 then null
        else max({{ c }})
    end as {{ c }},
{%- endfor %}
    max(case when onderdrukt then 1 else 0 end) = 1 as onderdrukt
from onderdrukt
group by {{ kc | join(', ') }}
{%- endmacro %}
