"""A real OpenSSH SFTP server on loopback for the tests: ``sshd`` from the system packages (installed with apt-get
when missing), its own host key and config, ``Subsystem sftp internal-sftp``, public-key login of the current user.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko


def sshd_binary() -> str:
    """The sshd binary; installs openssh-server when it is missing (tests/system_packages.py)."""
    from system_packages import ensure_command

    return ensure_command("sshd", "openssh-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SftpServer:
    root: Path  # what the login sees: its home is not used, paths are absolute below this folder
    port: int
    user: str
    host_key: str  # "ssh-ed25519 AAAA..." as the connection's extra.host_key
    client_key: Path
    process: subprocess.Popen

    def connection(self, **extra) -> dict:
        """The Airflow connection (JSON form) for this server."""
        return {"conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": self.user,
                "schema": str(self.root), "extra": {"host_key": self.host_key, "key_file": str(self.client_key),
                                                    "timeout": 10, **extra}}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_sftp_server(base: Path) -> SftpServer:
    binary = sshd_binary()
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    host_key = base / "ssh_host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    client = paramiko.RSAKey.generate(2048)
    client_key = base / "client_rsa"
    client.write_private_key_file(str(client_key))
    (base / "authorized_keys").write_text(f"{client.get_name()} {client.get_base64()}\n")
    os.chmod(base / "authorized_keys", 0o600)
    root = base / "files"
    root.mkdir()
    port = _free_port()
    user = getpass.getuser()
    config = base / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {base / 'sshd.pid'}",
        f"AuthorizedKeysFile {base / 'authorized_keys'}", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password",
        "AllowTcpForwarding no", "X11Forwarding no", "Subsystem sftp internal-sftp", "LogLevel ERROR", ""]))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                               stderr=open(base / "sshd.log", "wb"))  # noqa: SIM115 (closed with the process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(base / 'sshd.log').read_text(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("sshd did not listen within 15 s")
    public = (base / "ssh_host_ed25519_key.pub").read_text().split()
    return SftpServer(root, port, user, f"{public[0]} {public[1]}", client_key, process)
