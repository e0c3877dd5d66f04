"""regiowerk airflow DAGs: one DAG per partner in partners/*.yml, plus the warehouse DAG (dbt via Cosmos).

Thin on purpose: everything lives in the regiowerk package (plugins/regiowerk/dag_factory.py).
"""

from regiowerk.dag_factory import build_all

globals().update(build_all())
