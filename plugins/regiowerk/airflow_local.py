"""``regiowerk airflow up|down|status``: the project's DAGs on a real local Airflow 3 deployment.

``up`` starts ``airflow api-server``, ``airflow scheduler`` and ``airflow dag-processor`` (LocalExecutor) on
127.0.0.1, each as the leader of its own process group (``setsid``), against a metadata database in the
project-local ``AIRFLOW_HOME``. ``up --executor celery`` runs the same deployment scaled out the way production
is: CeleryExecutor, a PostgreSQL metadata database (``--metadata-url``), a Redis broker (``--broker-url``) and
``--workers N`` ``airflow celery worker`` processes named ``worker<i>@<host>`` (see docs/operations.md,
"Scaling out"). Their PIDs go into ``$AIRFLOW_HOME/regiowerk-pids.json``; ``down`` signals exactly those
process groups (SIGTERM, then SIGKILL after a timeout) and removes the file. ``--demo`` also
generates the demo partner sources and runs the UWV stand-in API as a child process.

Partner Connections and Variables come from ``.env.airflow`` (``AIRFLOW_CONN_<ID>=<json or uri>`` and
``AIRFLOW_VAR_<NAME>=...`` lines) in the project root, if present, or from ``--env-file``.

Logs: ``$AIRFLOW_HOME/logs/regiowerk-<component>.log`` (process output) and ``$AIRFLOW_HOME/logs/dag_id=...``
(task logs). See docs/operations.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from regiowerk import airflow_env
from regiowerk.airflow_env import WAREHOUSE_POOL
from regiowerk.settings import paths

PID_FILE = "regiowerk-pids.json"
SECRETS_FILE = "regiowerk-secrets.json"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
COMPONENTS = ("api-server", "scheduler", "dag-processor")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
WORKER_PREFIX = "celery-worker-"  # process names in the pid file: celery-worker-1, celery-worker-2, ...
# Each local Celery worker's task processes report the worker's Celery name as their hostname (see
# celery_worker_hostname): on one machine every worker otherwise reports the same machine name.
WORKER_HOSTNAME_ENV = "REGIOWERK_CELERY_HOSTNAME"
WORKER_HOSTNAME_CALLABLE = "regiowerk.airflow_local.celery_worker_hostname"
METADATA_URL_ENV = "REGIOWERK_AIRFLOW_METADATA_URL"  # defaults of --metadata-url / --broker-url
BROKER_URL_ENV = "REGIOWERK_CELERY_BROKER_URL"
USERNAME = "admin"
HOST = "127.0.0.1"

# SQLite metadata database shared by api-server, scheduler and dag-processor: wait for a lock instead of failing
# with "database is locked" after pysqlite's 5 s (used through AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS).
SQLITE_CONNECT_ARGS = {"timeout": 60}

_children: dict[int, subprocess.Popen] = {}  # processes started by this Python process (reaped by down())


def _say(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------------------------- environment

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """Temporarily make ``env`` this process's environment (paths() and configure() read os.environ)."""
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines and ``#`` comments skipped; one pair of surrounding quotes removed."""
    values = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{n}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _secrets(home: Path) -> dict[str, str]:
    """Secrets shared by all components (JWT signing, API secret key), generated once per AIRFLOW_HOME."""
    f = home / SECRETS_FILE
    if f.exists():
        return json.loads(f.read_text())
    values = {"jwt_secret": secrets.token_urlsafe(32), "secret_key": secrets.token_urlsafe(32)}
    f.write_text(json.dumps(values))
    f.chmod(0o600)
    return values


def _password(home: Path) -> str:
    f = home / PASSWORDS_FILE
    if f.exists():
        with contextlib.suppress(ValueError, KeyError):
            return json.loads(f.read_text())[USERNAME]
    password = secrets.token_urlsafe(12)
    f.write_text(json.dumps({USERNAME: password}))
    f.chmod(0o600)
    return password


def celery_worker_hostname() -> str:
    """Airflow ``hostname_callable`` of the local Celery workers: the worker's Celery name (``worker1@host``)
    from ``REGIOWERK_CELERY_HOSTNAME``, else the machine's FQDN (Airflow's default)."""
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and the pid file)."""
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(url)
    if not p.password:
        return url
    netloc = f"{p.username or ''}:***@{p.netloc.rsplit('@', 1)[1]}"
    return urlunsplit(p._replace(netloc=netloc))


def celery_urls(metadata_url: str | None, broker_url: str | None) -> dict[str, str]:
    """The CeleryExecutor settings for a PostgreSQL metadata database and a Redis broker.

    ``metadata_url`` is a ``postgresql://`` URL (a unix-socket directory as ``?host=/dir`` works: Airflow derives
    its asyncpg URL from it, and asyncpg takes a directory as host); Airflow gets it as ``postgresql+psycopg2://``
    and Celery's result backend as ``db+postgresql+psycopg2://`` (SQLAlchemy 2.1's default PostgreSQL driver is
    psycopg 3, which is not installed).
    """
    if not metadata_url:
        raise ValueError("the celery executor needs --metadata-url postgresql://USER:PASSWORD@HOST:PORT/DB "
                         "(Celery cannot share a SQLite metadata database between machines)")
    scheme, sep, rest = metadata_url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"--metadata-url must be a postgresql:// URL, got {redact(metadata_url)!r}")
    if not broker_url:
        raise ValueError("the celery executor needs --broker-url redis://HOST:PORT/DB (e.g. redis://127.0.0.1:6379/0)")
    if not broker_url.startswith(("redis://", "rediss://")):
        raise ValueError(f"--broker-url must be a redis:// URL, got {redact(broker_url)!r}")
    return {
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS["celery"],
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{rest}",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{rest}",
    }


def deployment_env(home: Path | None = None, port: int | None = None, *, overrides: dict[str, str] | None = None,
                   parallelism: int = 4, all_admins: bool = False, metadata_db: str | None = None,
                   executor: str = "local", broker_url: str | None = None) -> dict[str, str]:
    """The complete environment of the deployment's processes (this process's environment is not changed).

    ``executor="celery"`` needs ``metadata_db`` (postgresql://) and ``broker_url`` (redis://).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: one of {', '.join(EXECUTORS)}")
    celery = celery_urls(metadata_db, broker_url) if executor == "celery" else {}
    env = os.environ.copy()
    env.update(overrides or {})
    if home:
        env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__CORE__PARALLELISM"] = str(parallelism)
    with _environ(env):
        airflow_env.configure()
        env = os.environ.copy()
    home = Path(env["AIRFLOW_HOME"])
    if metadata_db:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata_db
    env.update(celery)
    if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite"):
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"] = "regiowerk.airflow_local.SQLITE_CONNECT_ARGS"
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC"] = "regiowerk.airflow_local.SQLITE_CONNECT_ARGS"
    port = port or int(env.get("AIRFLOW__API__PORT") or free_port())
    keys = _secrets(home)
    env.update({
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{HOST}:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(bool(all_admins)),
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
        # task processes talk to the api-server; on a busy 2-core machine its answers can take > 5 s
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": env.get("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60"),
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": env.get("AIRFLOW__WORKERS__EXECUTION_API_RETRIES", "10"),
    })
    # the log servers (task logs for the UI) listen on all interfaces: at least not on a fixed, shared port
    env.setdefault("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", str(free_port()))
    env.setdefault("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", str(free_port()))
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _airflow_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "airflow"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "airflow"]


def migrate(env: dict[str, str]) -> None:
    """``airflow db migrate``; a SQLite database is switched to WAL (readers do not block the one writer)."""
    done = subprocess.run([*_airflow_cmd(), "db", "migrate"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    conn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if conn.startswith("sqlite:///"):
        import sqlite3

        db = sqlite3.connect(conn[len("sqlite:///"):].split("?")[0], timeout=60)
        try:
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()


# ------------------------------------------------------------------------------------------------ processes

def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], pgrp [2], starttime [19])."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return data[data.rfind(")") + 2:].split()


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)
    else:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    _reap(pid)
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat and int(stat[2]) == pgid and stat[0] not in ("Z", "X"):
                found.append(int(entry.name))
    for pid in found:
        _reap(pid)
    return [p for p in found if alive(p)]


def _start(name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> dict:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"regiowerk-{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=str(paths().root))
    _children[proc.pid] = proc
    stat = _proc_stat(proc.pid)
    return {"pid": proc.pid, "pgid": proc.pid, "starttime": stat[19] if stat else None, "cmd": cmd,
            "log": str(log)}


def _ours(entry: dict) -> bool:
    """The recorded process still is the one we started (not a recycled PID)."""
    stat = _proc_stat(entry["pid"])
    return stat is not None and (entry.get("starttime") is None or stat[19] == entry["starttime"])


def descendants(pids: list[int]) -> set[int]:
    """Live descendants of ``pids`` (task processes call setsid: they leave their parent's process group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = Path(f"/proc/{entry.name}/status").read_text()
            except OSError:
                continue
            ppid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 0)
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {p for p in found if alive(p)}


def _signal_all(pgid: int, extra: set[int], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid in extra:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_group(entry: dict, timeout: float = 30) -> None:
    """SIGTERM to the process group we started (and to descendants that left it), SIGKILL after ``timeout``."""
    pgid = entry["pgid"]
    if alive(entry["pid"]) and not _ours(entry):
        return  # the PID was recycled: not ours to signal
    members = group_members(pgid)
    extra = descendants(members) - set(members)
    if not members and not extra:
        return

    def left() -> bool:
        extra.intersection_update(p for p in list(extra) if alive(p))
        return bool(group_members(pgid) or extra)

    _signal_all(pgid, extra, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while left() and time.monotonic() < deadline:
        extra.update(descendants(group_members(pgid) + list(extra)))
        time.sleep(0.2)
    if left():
        _signal_all(pgid, extra, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while left() and time.monotonic() < deadline:
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ demo bits

def _start_demo(env: dict[str, str], home: Path, out: Callable[[str], None]) -> dict:
    """Generate the demo sources into the deployment's data dir and start the UWV stand-in as a child."""
    from regiowerk.demo.generate import generate_demo
    from regiowerk.demo.uwv_api import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    with _environ(env):
        p = paths()
        drop, sis_db = p.drop, p.data / "demo" / "sis.sqlite"
    out(f"  generating demo partner sources in {p.data} ...")
    sources = generate_demo(drop, sis_db)
    records = home / "demo-uwv-records.json"
    records.write_text(json.dumps(sources.uwv_records, default=str))
    port = free_port()
    entry = _start("uwv-api", [sys.executable, "-m", "regiowerk.demo.uwv_api", str(records), "--port", str(port)],
                   env, home / "logs")
    entry["url"] = f"http://{HOST}:{port}"
    env["AIRFLOW_CONN_REGIOWERK_UWV_HAAGLANDEN"] = json.dumps({
        "conn_type": "http", "host": entry["url"], "login": DEMO_CLIENT_ID, "password": DEMO_CLIENT_SECRET})
    env["AIRFLOW_CONN_REGIOWERK_MBO_ROC_MONDRIAAN"] = json.dumps({"conn_type": "sqlite", "host": str(sis_db)})
    _wait(lambda: _port_open(port), 30, "UWV stand-in API")
    return entry


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


class _Died(Exception):
    """A component we started exited while we waited for the deployment (its name(s) in args[0])."""


def _wait(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except _Died:
            raise
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


# -------------------------------------------------------------------------------------------------- up/down

def _home(home: Path | None = None) -> Path:
    if home:
        return Path(home)
    with _environ(os.environ.copy()):
        return Path(airflow_env.configure()["AIRFLOW_HOME"])


def health(url: str) -> dict:
    import requests

    return requests.get(f"{url}/api/v2/monitor/health", timeout=5).json()


def _healthy(url: str) -> bool:
    h = health(url)
    return all((h.get(k) or {}).get("status") == "healthy" for k in ("metadatabase", "scheduler", "dag_processor"))


def get_token(url: str, password: str, username: str = USERNAME) -> str:
    import requests

    r = requests.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


def _ensure_pool(url: str, token: str) -> None:
    """The one-slot pool the DuckDB-writing tasks use (one writer on the warehouse file)."""
    import requests

    h = {"Authorization": f"Bearer {token}"}
    r = requests.get(f"{url}/api/v2/pools/{WAREHOUSE_POOL}", headers=h, timeout=10)
    if r.status_code == 404:
        r = requests.post(f"{url}/api/v2/pools", headers=h, timeout=10, json={
            "name": WAREHOUSE_POOL, "slots": 1, "description": "one writer on the DuckDB warehouse"})
    r.raise_for_status()


POLICY_MARKER = "# written by `regiowerk airflow up`"
POLICY = POLICY_MARKER + '''
"""Cluster policy of the local deployment: faster retries of transient failures on a busy laptop.

The DuckDB-writing tasks get the one-slot warehouse pool from regiowerk.dag_factory itself.
"""


def task_policy(task):
    dag_id = getattr(getattr(task, "dag", None), "dag_id", "") or ""
    if dag_id.startswith("partner_") or dag_id == "regiowerk_warehouse":
        # a local deployment on a busy laptop: a transient failure (e.g. an Execution API timeout) is retried
        # after 30 s instead of the production 5 minutes
        from datetime import timedelta

        task.retry_delay = timedelta(seconds=30)
        task.retry_exponential_backoff = False
'''


def write_pool_policy(home: Path) -> Path | None:
    """``$AIRFLOW_HOME/config/airflow_local_settings.py`` with the warehouse pool policy (never overwrites a
    file someone else wrote). Returns None when it is not ours."""
    f = home / "config" / "airflow_local_settings.py"
    if f.exists() and POLICY_MARKER not in f.read_text(errors="replace"):
        return None
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(POLICY)
    return f


def worker_names(workers: int) -> list[str]:
    """Celery names of the local workers: ``worker1@<host>`` ... (Celery's ``%h`` is this host name too)."""
    return [f"worker{i}@{socket.gethostname()}" for i in range(1, workers + 1)]


def celery_inspect(broker_url: str, command: str, destinations: list[str] | None = None,
                   timeout: float = 2.0) -> dict:
    """Celery's own remote control: ``celery inspect COMMAND`` (ping, stats, active, ...) over the broker.

    Returns {worker name: reply} of the workers that answered within ``timeout`` ({} when none did). The broker
    URL goes to the child's environment, not its command line (it may hold a password).
    """
    exe = Path(sys.executable).parent / "celery"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "celery"]
    cmd += ["inspect", command, "--json", "--timeout", str(timeout)]
    if destinations:
        cmd += ["--destination", ",".join(destinations)]
    env = {**os.environ, "CELERY_BROKER_URL": broker_url}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 60)
    if done.returncode != 0:  # 69 (EX_UNAVAILABLE): no worker replied
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}")


def up(home: Path | None = None, *, port: int | None = None, demo: bool = False, env_file: Path | None = None,
       overrides: dict[str, str] | None = None, parallelism: int = 4, all_admins: bool = False,
       timeout: float = 180, executor: str = "local", metadata_url: str | None = None,
       broker_url: str | None = None, workers: int = 2, worker_concurrency: int = 2,
       out: Callable[[str], None] = _say) -> dict:
    """Start the deployment; returns the state written to the pid file (plus the admin password).

    ``executor="celery"``: CeleryExecutor with the metadata database at ``metadata_url`` (PostgreSQL), the broker
    at ``broker_url`` (Redis; not started here) and ``workers`` Celery workers of ``worker_concurrency`` each.
    """
    started = time.monotonic()
    if executor == "celery" and workers < 1:
        raise ValueError("--workers must be at least 1")
    env = deployment_env(home, port, overrides=overrides, parallelism=parallelism, all_admins=all_admins,
                         executor=executor, metadata_db=metadata_url, broker_url=broker_url)
    home = Path(env["AIRFLOW_HOME"])
    pid_file = home / PID_FILE
    if pid_file.exists():
        running = [n for n, e in json.loads(pid_file.read_text())["processes"].items() if group_members(e["pgid"])]
        if running:
            raise RuntimeError(f"already running ({', '.join(running)}): `regiowerk airflow down` first")
        pid_file.unlink()
    env_file = Path(env_file) if env_file else paths().root / ".env.airflow"
    if env_file.exists():
        loaded = read_env_file(env_file)
        env.update(loaded)
        out(f"  {len(loaded)} setting(s) from {env_file}")
    password = _password(home)
    policy = write_pool_policy(home)
    if policy is None and parallelism > 1:
        out(f"  warning: {home / 'config' / 'airflow_local_settings.py'} is not ours, so the warehouse pool "
            "policy is not installed: parallel DuckDB writers may collide (use --parallelism 1)")
    url = env["AIRFLOW__API__BASE_URL"]
    state: dict = {"url": url, "airflow_home": str(home), "username": USERNAME,
                   "passwords_file": str(home / PASSWORDS_FILE), "executor": env["AIRFLOW__CORE__EXECUTOR"],
                   "metadata_db": redact(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]), "processes": {}}
    names = worker_names(workers) if executor == "celery" else []
    if names:
        state["broker"] = redact(env["AIRFLOW__CELERY__BROKER_URL"])
        state["workers"] = names

    def save() -> None:
        pid_file.write_text(json.dumps(state, indent=2))

    try:
        if demo:
            state["processes"]["uwv-api"] = _start_demo(env, home, out)
            save()
        out(f"  migrating the metadata database ({env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split(':')[0]}) ...")
        migrate(env)
        port_ = env["AIRFLOW__API__PORT"]
        commands = {"api-server": ["api-server", "--host", HOST, "--port", port_],
                    "scheduler": ["scheduler"], "dag-processor": ["dag-processor"]}
        envs = {}
        for i, name in enumerate(names, 1):
            # all workers share this machine's AIRFLOW_HOME/logs, which the api-server reads directly: no log
            # server per worker (they would all want the one worker_log_server_port)
            commands[f"{WORKER_PREFIX}{i}"] = ["celery", "worker", "--celery-hostname", name,
                                               "--concurrency", str(worker_concurrency), "--skip-serve-logs"]
            envs[f"{WORKER_PREFIX}{i}"] = {**env, WORKER_HOSTNAME_ENV: name,
                                           "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE}

        def start(*names: str) -> None:
            for name in names:
                state["processes"][name] = _start(name, [*_airflow_cmd(), *commands[name]], envs.get(name, env),
                                                  home / "logs")
                save()
            out("  started " + ", ".join(f"{n} ({state['processes'][n]['pid']})" for n in names))

        def wait_for(check: Callable[[], bool], what: str) -> None:
            def ready() -> bool:
                dead = [n for n, e in state["processes"].items() if not alive(e["pid"])]
                if dead:
                    raise _Died(dead)
                return check()

            try:
                _wait(ready, max(timeout - (time.monotonic() - started), 10), what, interval=1)
            except _Died as e:
                logs = "\n".join(f"--- {n}:\n{_tail(state['processes'][n]['log'])}" for n in e.args[0])
                raise RuntimeError(f"Airflow component(s) exited: {e.args[0]}\n{logs}") from None

        # The scheduler starts last: a task queued before the api-server (its Execution API) answers fails and
        # waits for its retry delay; and the warehouse pool must exist before the first load task is scheduled.
        start("api-server", "dag-processor")
        wait_for(lambda: (health(url).get("metadatabase") or {}).get("status") == "healthy", "the api-server")
        _ensure_pool(url, get_token(url, password) if not all_admins else _anonymous_token(url))
        if names:  # the workers consume before the scheduler queues the first task
            start(*(f"{WORKER_PREFIX}{i}" for i in range(1, len(names) + 1)))
            broker = env["AIRFLOW__CELERY__BROKER_URL"]
            wait_for(lambda: set(celery_inspect(broker, "ping", names)) >= set(names), "the Celery workers")
        start("scheduler")
        wait_for(lambda: _healthy(url), "Airflow health")
    except BaseException:
        down(home, out=lambda _m: None)
        raise
    state["seconds_to_healthy"] = round(time.monotonic() - started, 1)
    save()
    out(f"Airflow is up in {state['seconds_to_healthy']}s: {url}")
    out(f"  executor: {state['executor']}, metadata: {state['metadata_db']}"
        + (f", broker: {state['broker']}, workers: {', '.join(names)}" if names else ""))
    out(f"  login: {USERNAME} / {password}   (password in {home / PASSWORDS_FILE})"
        + ("   [all-admins: no login needed]" if all_admins else ""))
    out(f"  logs: {home / 'logs'}   stop: regiowerk airflow down")
    return {**state, "password": password}


def _anonymous_token(url: str) -> str:
    return get_token(url, "unused", "unused")  # all-admins mode hands out an admin token


def _tail(path: str, n: int = 4000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


def down(home: Path | None = None, *, timeout: float = 30, out: Callable[[str], None] = _say) -> list[int]:
    """Stop exactly the process groups ``up`` recorded; returns their PIDs."""
    home = _home(home)
    pid_file = home / PID_FILE
    if not pid_file.exists():
        out(f"nothing to stop: no {pid_file}")
        return []
    state = json.loads(pid_file.read_text())
    stopped = []
    # Airflow first (scheduler, then the Celery workers, then the api-server: running tasks report to the
    # api-server), the demo API last
    order = ["scheduler", WORKER_PREFIX, "dag-processor", "api-server"]

    def rank(name: str) -> int:
        return next((i for i, o in enumerate(order) if name == o or (o.endswith("-") and name.startswith(o))),
                    len(order))

    names = sorted(state["processes"], key=rank)
    for name in names:
        entry = state["processes"][name]
        t0 = time.monotonic()
        stop_group(entry, timeout)
        stopped.append(entry["pid"])
        out(f"  stopped {name} ({entry['pid']}) in {time.monotonic() - t0:.1f}s")
    pid_file.unlink(missing_ok=True)
    return stopped


def status(home: Path | None = None, *, broker_url: str | None = None, out: Callable[[str], None] = _say) -> dict:
    """Recorded processes (running or not), the health endpoint and, for the CeleryExecutor, which workers
    answer Celery's ``inspect ping`` (needs the broker URL when it holds a password: ``broker_url`` or
    ``$REGIOWERK_CELERY_BROKER_URL``)."""
    home = _home(home)
    pid_file = home / PID_FILE
    if not pid_file.exists():
        out("not running")
        return {}
    state = json.loads(pid_file.read_text())
    result = {}
    for name, entry in state["processes"].items():
        running = bool(group_members(entry["pgid"])) and _ours(entry)
        result[name] = running
        out(f"  {name:<14} pid {entry['pid']:<8} {'running' if running else 'stopped'}   log {entry['log']}")
    try:
        h = health(state["url"])
        out(f"  {state['url']}: " + ", ".join(f"{k} {(v or {}).get('status')}" for k, v in h.items()))
        result["health"] = h
    except Exception as e:  # noqa: BLE001
        out(f"  {state['url']}: not answering ({e.__class__.__name__})")
    workers = state.get("workers") or []
    if workers:
        recorded = state.get("broker", "")
        broker = broker_url or os.environ.get(BROKER_URL_ENV) or (recorded if "***" not in recorded else None)
        if broker:
            answered = celery_inspect(broker, "ping", workers)
            result["celery"] = {w: w in answered for w in workers}
            out("  celery workers: " + ", ".join(f"{w} {'answers' if ok else 'NOT answering'}"
                                                 for w, ok in result["celery"].items()))
        else:
            out(f"  celery workers: set {BROKER_URL_ENV} to ping them (the recorded broker URL is redacted)")
    return result


# ------------------------------------------------------------------------------------------------------ CLI

def _cmd_up(args: argparse.Namespace) -> int:
    if args.executor == "local" and (args.metadata_url or args.broker_url or args.workers is not None):
        raise SystemExit("regiowerk airflow up: --metadata-url, --broker-url and --workers belong to "
                         "--executor celery")
    celery = args.executor == "celery"
    try:
        info = up(args.airflow_home, port=args.port, demo=args.demo, env_file=args.env_file,
                  parallelism=args.parallelism, all_admins=args.all_admins, timeout=args.timeout,
                  executor=args.executor,
                  metadata_url=args.metadata_url or (os.environ.get(METADATA_URL_ENV) if celery else None),
                  broker_url=args.broker_url or (os.environ.get(BROKER_URL_ENV) if celery else None),
                  workers=2 if args.workers is None else args.workers, worker_concurrency=args.worker_concurrency)
    except ValueError as e:
        raise SystemExit(f"regiowerk airflow up: {e}") from None
    return 0 if info else 1


def _cmd_down(args: argparse.Namespace) -> int:
    down(args.airflow_home, timeout=args.timeout)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    result = status(args.airflow_home)
    processes = {k: v for k, v in result.items() if k not in ("health", "celery")}
    return 0 if processes and all(processes.values()) and all(result.get("celery", {}).values()) else 1


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``airflow up|down|status`` on the regiowerk command line."""
    parser = subparsers.add_parser("airflow", help="run the DAGs on a local Airflow deployment (up/down/status)")
    sub = parser.add_subparsers(dest="airflow_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--airflow-home", type=Path, default=None,
                        help="AIRFLOW_HOME (default: $AIRFLOW_HOME or .airflow/ in the project)")
    p = sub.add_parser("up", parents=[common], help="start api-server, scheduler and dag-processor on 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="API/UI port (default: a free port)")
    p.add_argument("--demo", action="store_true",
                   help="generate the demo partner sources and run the UWV stand-in API as well")
    p.add_argument("--env-file", type=Path, default=None,
                   help="AIRFLOW_CONN_*/AIRFLOW_VAR_* settings (default: .env.airflow if present)")
    p.add_argument("--parallelism", type=int, default=4,
                   help="task processes at a time (DuckDB writers share the one-slot regiowerk_warehouse pool)")
    p.add_argument("--all-admins", action="store_true", help="local UI without login (never on a shared host)")
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for health")
    g = p.add_argument_group(
        "scaling out (CeleryExecutor)",
        "The production executor on this machine: PostgreSQL holds Airflow's metadata (and Celery's results), "
        "Redis is the broker (start it yourself, e.g. `redis-server --port 6379 --bind 127.0.0.1`), and N "
        "`airflow celery worker` processes named worker1@HOST ... run the tasks. Task instances report the "
        "worker's name as their hostname. `down` stops the workers too.")
    g.add_argument("--executor", choices=sorted(EXECUTORS), default="local",
                   help="local: LocalExecutor and SQLite in AIRFLOW_HOME (default); celery: see above")
    g.add_argument("--metadata-url", default=None,
                   help="postgresql://USER:PASSWORD@HOST:PORT/DB of Airflow's metadata database "
                        "(a unix socket as postgresql://USER@/DB?host=/socket/dir); "
                        "default $REGIOWERK_AIRFLOW_METADATA_URL")
    g.add_argument("--broker-url", default=None,
                   help="redis://[:PASSWORD@]HOST:PORT/DB of the Celery broker; default $REGIOWERK_CELERY_BROKER_URL")
    g.add_argument("--workers", type=int, default=None, help="number of Celery workers (default 2)")
    g.add_argument("--worker-concurrency", type=int, default=2, help="task processes per Celery worker")
    p.set_defaults(func=_cmd_up)
    p = sub.add_parser("down", parents=[common], help="stop the processes `up` started")
    p.add_argument("--timeout", type=float, default=30, help="seconds between SIGTERM and SIGKILL")
    p.set_defaults(func=_cmd_down)
    p = sub.add_parser("status", parents=[common],
                       help="show the recorded processes, the health endpoint and which Celery workers answer")
    p.set_defaults(func=_cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="regiowerk")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["airflow", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
