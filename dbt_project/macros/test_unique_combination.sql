{#- Generic test: the combination of columns is unique and none of them is NULL (primary-key test for a
    composite key). Written here because dbt Hub packages (dbt_utils) are not available. -#}
{% test regiowerk_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as aantal
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- for c in columns %}
    or {{ c }} is null
{%- endfor %}
{% endtest %}
