"""File drops on the partner's SFTP server (``connector.transport: sftp``), the way gemeenten deliver files.

The server and credentials are the Airflow connection ``connector.conn_id``: host, port (default 22), login,
password or ``extra.key_file`` (a private key file), the base folder on the server as the connection's path
(``schema``; empty = the login's home), and the server's public host key in ``extra.host_key`` (``"ssh-ed25519
AAAA..."``) or a ``extra.known_hosts`` file: an unknown host key is refused, never accepted on first use.

The files of the partner's folder (``<base>/<directory>``) are listed with their modification times and the
delivery is chosen by exactly the same rule as for a local drop (:func:`regiowerk.connectors.newest.choose_newest`).
Only that file is fetched, into a local mirror ``<drop>/.sftp/<partner>/<dataset>/`` (kept when size and
modification time are unchanged), and read from there like a local file: the fingerprint, the recognition of an
unchanged delivery and every check are those of the local drop.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import os
import posixpath
import stat
from pathlib import Path

from regiowerk.connectors.base import DeliveryContext
from regiowerk.connectors.newest import choose_newest
from regiowerk.registry import FileConnector, Partner
from regiowerk.secret_store import ConnectionInfo, get_connection

DEFAULT_TIMEOUT_SECONDS = 30


def fetch_newest(partner: Partner, dataset: str, drop_dir: Path) -> Path:
    """Fetch the delivery of ``dataset`` from the partner's SFTP folder into the local mirror; its local path."""
    connector = partner.connector
    assert isinstance(connector, FileConnector) and connector.conn_id
    mapping = partner.datasets[dataset]
    conn = get_connection(connector.conn_id)
    folder = posixpath.join(conn.schema or ".", partner.delivery_folder(), posixpath.dirname(mapping.source))
    pattern = posixpath.basename(mapping.source)
    where = f"sftp://{conn.host}:{conn.port or 22}/{folder.removeprefix('./')}"
    ctx = DeliveryContext(partner.partner_id, dataset, f"{where}/{pattern}")
    mirror = Path(drop_dir) / ".sftp" / partner.partner_id / dataset
    with _session(ctx, conn) as sftp:
        try:
            entries = sftp.listdir_attr(folder)
        except OSError:
            raise ctx.error(f"the delivery folder {where} does not exist on the SFTP server (or may not be "
                            f"read); nothing was delivered") from None
        found = {e.filename: int(e.st_mtime) * 1_000_000_000 for e in entries
                 if e.st_mode is not None and stat.S_ISREG(e.st_mode) and fnmatch.fnmatch(e.filename, pattern)}
        sizes = {e.filename: e.st_size for e in entries if e.filename in found}
        name = choose_newest(ctx, found, mapping.source, connector, where)
        local = mirror / name
        mtime = found[name] // 1_000_000_000
        mirror.mkdir(parents=True, exist_ok=True)
        if not (local.is_file() and local.stat().st_size == sizes[name] and int(local.stat().st_mtime) == mtime):
            partial = mirror / f".{name}.part"
            try:
                sftp.get(posixpath.join(folder, name), str(partial))
            except OSError as e:
                partial.unlink(missing_ok=True)
                raise ctx.error(f"cannot fetch {name} from the SFTP server: {e.strerror or type(e).__name__}") \
                    from None
            os.utime(partial, (mtime, mtime))
            partial.replace(local)
    for old in mirror.iterdir():  # the mirror holds the current delivery only
        if old != local:
            old.unlink(missing_ok=True)
    return local


@contextlib.contextmanager
def _session(ctx: DeliveryContext, conn: ConnectionInfo):
    """An SFTP session with the server's host key checked; failures reject the delivery without any secret."""
    import paramiko

    if not conn.host:
        raise ctx.error(f"connection {conn.conn_id!r} has no host")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    port = conn.port or 22
    host_key = conn.extra.get("host_key")
    known_hosts = conn.extra.get("known_hosts")
    if host_key:
        key_type, _, key_data = str(host_key).strip().partition(" ")
        key = paramiko.PKey.from_type_string(key_type, base64.b64decode(key_data.split()[0]))
        entry = conn.host if port == 22 else f"[{conn.host}]:{port}"
        client.get_host_keys().add(entry, key.get_name(), key)
    elif known_hosts:
        client.load_host_keys(str(known_hosts))
    else:
        raise ctx.error(f"connection {conn.conn_id!r} names no host key of the SFTP server (extra.host_key or "
                        f"extra.known_hosts): an unknown server is never trusted")
    timeout = float(conn.extra.get("timeout", DEFAULT_TIMEOUT_SECONDS))
    try:
        client.connect(conn.host, port=port, username=conn.login, password=conn.password,
                       key_filename=conn.extra.get("key_file"), timeout=timeout, banner_timeout=timeout,
                       auth_timeout=timeout, allow_agent=False, look_for_keys=False)
        sftp = client.open_sftp()
    except paramiko.BadHostKeyException:
        client.close()
        raise ctx.error(f"the SFTP server {conn.host}:{port} presented another host key than connection "
                        f"{conn.conn_id!r} names: refused") from None
    except paramiko.AuthenticationException:
        client.close()
        raise ctx.error(f"the SFTP server {conn.host}:{port} refused the login of user {conn.login!r} "
                        f"(connection {conn.conn_id!r})") from None
    except (paramiko.SSHException, OSError) as e:
        client.close()
        raise ctx.error(f"cannot connect to the SFTP server {conn.host}:{port}: {type(e).__name__}: "
                        f"{str(e)[:120]}") from None
    try:
        sftp.get_channel().settimeout(timeout)
        yield sftp
    finally:
        sftp.close()
        client.close()
