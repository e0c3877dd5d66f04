"""Run dbt against this project with the right profile, target and warehouse path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from regiowerk.settings import paths, warehouse_target

# Production dbt runs (the warehouse DAG, the benchmark) skip dbt's unit tests: they test the SQL logic on fixed
# inputs, so they belong to CI and development (tests/test_dbt_project.py runs them), not to every refresh
# (dbt docs: --exclude-resource-type on build/test; measured dbt build 63 s -> 31 s at region scale).
PRODUCTION_DBT_FLAGS = ["--exclude-resource-type", "unit_test"]
# The same as a node selector, for Cosmos' RenderConfig(exclude=...) (forwarded to its per-model test tasks).
PRODUCTION_DBT_EXCLUDE = ["resource_type:unit_test"]


def dbt_command() -> list[str]:
    exe = Path(sys.executable).parent / "dbt"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dbt.cli.main"]


def dbt_env() -> dict[str, str]:
    """The environment of a dbt child process for the configured warehouse (:func:`settings.warehouse_target`):
    this process's environment plus the profile variables derived from ``REGIOWERK_WAREHOUSE_URL``."""
    env = {**os.environ, **warehouse_target().dbt_env()}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    return env


def run_dbt(args: list[str], *, target: str | None = None, check: bool = True,
            capture: bool = True) -> subprocess.CompletedProcess:
    """``dbt <args>`` in a child process (dbt keeps global state; a child keeps this process clean), against the
    configured warehouse. ``target`` must agree with it when given (it is a check, not a switch)."""
    p = paths()
    wh = warehouse_target()
    if target and target != wh.dbt_target:
        raise ValueError(f"dbt target {target!r} requested, but the configured warehouse is {wh.dbt_target} "
                         f"(REGIOWERK_WAREHOUSE_URL decides)")
    env = dbt_env()
    cmd = [*dbt_command(), *args, "--project-dir", str(p.dbt_project), "--profiles-dir", str(p.dbt_project),
           "--target", wh.dbt_target]
    done = subprocess.run(cmd, env=env, capture_output=capture, text=True, cwd=p.dbt_project)
    if check and done.returncode != 0:
        tail = (done.stdout or "")[-4000:] + (done.stderr or "")[-2000:]
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {done.returncode}):\n{tail}")
    return done
