"""The file connector over SFTP, against a real OpenSSH server on loopback (tests/sftp_server.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from regiowerk import pipeline, warehouse
from regiowerk.connectors import extract
from regiowerk.errors import DeliveryError
from regiowerk.registry import load_partner
from sftp_server import start_sftp_server

CORPUS = Path(__file__).parent / "corpus"
CONN = "AIRFLOW_CONN_SFTP_CORPUS"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_sftp_server(tmp_path_factory.mktemp("sshd"))
    yield srv
    srv.stop()


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    for name in ("partners", "drop", "data"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv(CONN, json.dumps(server.connection()))
    data = yaml.safe_load((CORPUS / "partners" / "corpus_gemeente.yml").read_text(encoding="utf-8"))
    data["connector"].update(transport="sftp", conn_id="sftp_corpus")
    path = tmp_path / "partners" / "corpus_gemeente.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    folder = server.root / "corpus_gemeente"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return tmp_path, load_partner(path), folder


def put(folder: Path, name: str, source: str, mtime: int) -> Path:
    path = folder / name
    shutil.copyfile(CORPUS / "files" / source, path)
    os.utime(path, (mtime, mtime))
    return path


def run_stages() -> dict:
    d = pipeline.extract("corpus_gemeente", "werkzoekenden")
    if d["status"] != pipeline.ALREADY_LOADED:
        d = pipeline.pseudonymise(d)
        d = pipeline.validate(d)
    return pipeline.load(d)


def test_sftp_delivery_is_read_like_a_local_drop(env):
    tmp, partner, folder = env
    put(folder, "clienten_2026-09-30.csv", "unmapped_code.csv", 1_790_000_000)
    newest = put(folder, "clienten_2026-10-31.csv", "ok.csv", 1_790_000_100)
    ex = extract(partner, "werkzoekenden", drop_dir=tmp / "drop")
    assert ex.fingerprint == hashlib.sha256(newest.read_bytes()).hexdigest()
    assert len(ex.frame) == 3 and ex.frame["_bron_rij"].tolist() == [2, 3, 4]
    mirror = tmp / "drop" / ".sftp" / "corpus_gemeente" / "werkzoekenden"
    assert [p.name for p in mirror.iterdir()] == ["clienten_2026-10-31.csv"]  # only the delivery is fetched


def test_new_and_unchanged_deliveries_are_recognised(env):
    tmp, _, folder = env
    put(folder, "clienten_2026-10-31.csv", "ok.csv", 1_790_000_000)
    first = run_stages()
    assert first["status"] == "loaded" and first["rows_loaded"] == 3
    again = run_stages()  # the same file on the server: recognised from its bytes, nothing processed again
    assert again["status"] == pipeline.ALREADY_LOADED and again["delivery_id"] == first["delivery_id"]
    put(folder, "clienten_2026-11-30.csv", "unmapped_code.csv", 1_790_000_500)
    new = run_stages()
    assert new["status"] == "loaded" and new["delivery_id"] != first["delivery_id"]
    con = warehouse.connect(read_only=True)
    try:
        statuses = con.execute("SELECT status, count(*) FROM audit.deliveries WHERE partner_id = 'corpus_gemeente' "
                               "GROUP BY status").fetchall()
    finally:
        con.close()
    assert dict(statuses) == {"loaded": 2}


def test_a_newer_file_passed_over_on_the_server_is_rejected(env):
    tmp, partner, folder = env
    put(folder, "clienten_2026-11-30.csv", "ok.csv", 1_790_000_000)
    put(folder, "clienten_2026-10-31.csv", "ok.csv", 1_790_000_900)  # a re-delivery of October, after November
    with pytest.raises(DeliveryError, match="'clienten_2026-10-31.csv' was delivered after 'clienten_2026-11-30.csv'"):
        extract(partner, "werkzoekenden", drop_dir=tmp / "drop")


def test_missing_folder_and_no_file(env, server):
    tmp, partner, folder = env
    with pytest.raises(DeliveryError, match=r"no file matching 'clienten_\*.csv' in sftp://127.0.0.1"):
        extract(partner, "werkzoekenden", drop_dir=tmp / "drop")
    shutil.rmtree(folder)
    with pytest.raises(DeliveryError, match="does not exist on the SFTP server"):
        extract(partner, "werkzoekenden", drop_dir=tmp / "drop")


def test_unknown_or_wrong_host_key_is_refused(env, server, monkeypatch, tmp_path):
    tmp, partner, folder = env
    put(folder, "clienten_2026-10-31.csv", "ok.csv", 1_790_000_000)
    conn = server.connection()
    del conn["extra"]["host_key"]
    monkeypatch.setenv(CONN, json.dumps(conn))
    with pytest.raises(DeliveryError, match="names no host key of the SFTP server"):
        extract(partner, "werkzoekenden", drop_dir=tmp / "drop")
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().split()
    monkeypatch.setenv(CONN, json.dumps(server.connection(host_key=f"{other[0]} {other[1]}")))
    with pytest.raises(DeliveryError, match="presented another host key"):
        extract(partner, "werkzoekenden", drop_dir=tmp / "drop")


def test_refused_login_names_the_user_not_the_secret(env, server, monkeypatch):
    tmp, partner, folder = env
    put(folder, "clienten_2026-10-31.csv", "ok.csv", 1_790_000_000)
    conn = server.connection()
    del conn["extra"]["key_file"]
    conn["password"] = "not-the-password"
    monkeypatch.setenv(CONN, json.dumps(conn))
    with pytest.raises(DeliveryError) as info:
        extract(partner, "werkzoekenden", drop_dir=tmp / "drop")
    assert f"refused the login of user {server.user!r}" in str(info.value)
    assert "not-the-password" not in str(info.value)
