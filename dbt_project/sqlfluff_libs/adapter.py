"""``adapter`` for sqlfluff's jinja templater (library_path in .sqlfluff); dbt itself never reads this folder.

``adapter.dispatch('split_list', 'regiowerk')(column)`` renders as the call ``split_list(column)``: plain SQL that
sqlfluff can parse and lint, in place of the engine-specific macro dbt would choose. An argument that is not a
column name (a regex pattern, a separator) renders as a string literal.
"""

import re

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _sql(value) -> str:
    text = str(value)
    return text if _NAME.match(text) else "'" + text.replace("'", "''") + "'"


def dispatch(macro_name, macro_namespace=None):
    def call(*args, **kwargs):
        return f"{macro_name}({', '.join(_sql(a) for a in [*args, *kwargs.values()])})"

    return call
