"""``regiowerk bi up|down``: Apache Superset on 127.0.0.1 in its own locked environment (``deploy/superset``).

``up`` creates the environment when missing (``uv sync --frozen --project deploy/superset``), a metadata database
of its own (SQLite in the Superset home, ``.superset/`` or ``REGIOWERK_SUPERSET_HOME``), the admin login, the BI
source (:mod:`regiowerk.bi.source`), imports the dashboards (:mod:`regiowerk.bi.bundle`, ``provision.py``) and
starts the server; run again while it is up, it refreshes the source and the dashboards. ``down`` stops the
process group it started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from regiowerk.bi import bundle, source
from regiowerk.settings import paths, warehouse_target

DEFAULT_PORT = 8088
ADMIN = "admin"
DEMO_PASSWORD = "regiowerk"
PASSWORD_ENV = "REGIOWERK_BI_ADMIN_PASSWORD"


class BiError(RuntimeError):
    pass


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    pid: int
    user: str
    password: str
    source: source.BiSource
    dashboards: dict[str, str]  # slug -> title


def project() -> Path:
    return paths().root / "deploy" / "superset"


def home() -> Path:
    return Path(os.environ.get("REGIOWERK_SUPERSET_HOME", paths().root / ".superset"))


def admin_password() -> str:
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if os.environ.get("REGIOWERK_ENV") == "production":
        raise BiError(f"set {PASSWORD_ENV}: the demo password is refused in production")
    return DEMO_PASSWORD


def _bin(name: str) -> Path:
    return project() / ".venv" / "bin" / name


def ensure_environment() -> None:
    if _bin("superset").exists():
        return
    print("bi: installing Superset into deploy/superset/.venv (once, about a minute) ...", flush=True)
    _run(["uv", "sync", "--frozen", "--project", str(project())], os.environ.copy(), "uv sync of deploy/superset")


def _env(h: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    env.update(SUPERSET_CONFIG_PATH=str(h / "superset_config.py"), SUPERSET_HOME=str(h), FLASK_APP="superset",
               PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env


def _run(cmd: list[str], env: dict[str, str], what: str, timeout: float = 600) -> str:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-15:])
        raise BiError(f"bi: {what} failed (exit {r.returncode}):\n{tail}")
    return r.stdout


def write_config(h: Path) -> None:
    h.mkdir(parents=True, exist_ok=True)
    key = h / "secret_key"
    if not key.exists():
        key.write_text(secrets.token_urlsafe(48))
        key.chmod(0o600)
    (h / "superset_config.py").write_text(f'''# Written by `regiowerk bi up`; local BI server of regiowerk.
from pathlib import Path

SECRET_KEY = Path({str(key)!r}).read_text().strip()
SQLALCHEMY_DATABASE_URI = "sqlite:///{h / 'superset.db'}"
SQLALCHEMY_EXAMPLES_URI = SQLALCHEMY_DATABASE_URI
BABEL_DEFAULT_LOCALE = "nl"
LANGUAGES = {{"nl": {{"flag": "nl", "name": "Nederlands"}}, "en": {{"flag": "us", "name": "English"}}}}
TALISMAN_ENABLED = False
WTF_CSRF_ENABLED = True
PREVENT_UNSAFE_DB_CONNECTIONS = False  # the DuckDB extract is a local file
FEATURE_FLAGS = {{"DASHBOARD_RBAC": False}}
SUPERSET_WEBSERVER_TIMEOUT = 120
''')


def init_metadata(h: Path, password: str) -> None:
    marker = h / "metadata.ok"
    if marker.exists():
        return
    env = _env(h)
    print("bi: creating the Superset metadata database (once, about 30 s) ...", flush=True)
    _run([str(_bin("superset")), "db", "upgrade"], env, "superset db upgrade")
    _run([str(_bin("superset")), "fab", "create-admin", "--username", ADMIN, "--firstname", "Regio",
          "--lastname", "Werk", "--email", "bi@regiowerk.example", "--password", password], env,
         "superset fab create-admin")
    _run([str(_bin("superset")), "init"], env, "superset init")
    marker.write_text("ok\n")


def bi_source(h: Path) -> source.BiSource:
    """The configured warehouse (settings.warehouse_target): PostgreSQL as the BI reader, or a DuckDB extract."""
    target = warehouse_target()
    if target.is_postgres:
        return source.postgres_source(target.url)
    return source.duckdb_extract(target.path, h / "regiowerk_bi.duckdb")


def provision(h: Path, src: source.BiSource) -> dict[str, str]:
    """Import the dashboards that ``src`` can show; slug -> title."""
    zip_path = h / "dashboards.zip"
    defs = bundle.build_bundle(zip_path, src.display, src.tables, engine=src.engine)
    env = _env(h)
    env["REGIOWERK_BI_DATABASE_URI"] = src.sqlalchemy_uri
    _run([str(_bin("python")), str(project() / "provision.py"), str(zip_path), "--admin", ADMIN], env,
         "importing the dashboards")
    return {d["slug"]: d["dashboard_title"] for d in defs.dashboards.values()}


def _pid(h: Path) -> int | None:
    try:
        pid = int((h / "superset.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def up(port: int = DEFAULT_PORT) -> Server:
    h = home()
    ensure_environment()
    write_config(h)
    password = admin_password()
    init_metadata(h, password)
    src = bi_source(h)
    dashboards = provision(h, src)
    url = f"http://127.0.0.1:{port}"
    pid = _pid(h)
    if pid is None:
        log = (h / "superset.log").open("ab")
        proc = subprocess.Popen([str(_bin("superset")), "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
                                env=_env(h), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        pid = proc.pid
        (h / "superset.pid").write_text(str(pid))
        (h / "superset.url").write_text(url)
        deadline = time.monotonic() + 180
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                down()
                raise BiError(f"bi: Superset did not start; see {h / 'superset.log'}")
            time.sleep(1)
    else:
        url = (h / "superset.url").read_text().strip()
    return Server(url, h, pid, ADMIN, password, src, dashboards)


def down() -> bool:
    """Stop the Superset started by :func:`up` (its process group); False when none was running."""
    h = home()
    pid = _pid(h)
    (h / "superset.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(50):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True
