"""System programs the deployment tests need (Chromium, Redis, OpenSSH's sshd), installed when missing.

``ensure_command(command, package)`` returns the program's path; when it is not installed it runs
``apt-get install`` of the Debian package (as root, or through sudo), once per package and session, so the
README's test command passes on a fresh machine with nothing installed by hand. Several test sessions on one
machine wait for each other on apt's own lock. Without apt-get, root or sudo the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

# sbin folders: sshd lives in /usr/sbin, which is not on every user's PATH
_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
_updated = False


def find_command(*names: str) -> str | None:
    for name in names:
        if found := shutil.which(name, path=_SEARCH):
            return found
    return None


def _apt(args: list[str]) -> None:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*prefix, "apt-get", "-o", "DPkg::Lock::Timeout=900", "-qq", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}): {(done.stderr or done.stdout)[-2000:]}")


def ensure_command(command: str, package: str, *alternatives: str) -> str:
    """The path of ``command`` (or one of ``alternatives``), installing Debian's ``package`` when none is found."""
    global _updated
    if found := find_command(command, *alternatives):
        return found
    if not shutil.which("apt-get") or (os.geteuid() != 0 and not shutil.which("sudo")):
        raise RuntimeError(f"{command} is not installed and cannot be installed here (no apt-get, or neither root "
                           f"nor sudo): install the package {package}")
    if not _updated:
        _apt(["update"])
        _updated = True
    _apt(["install", "-y", package])
    if found := find_command(command, *alternatives):
        return found
    raise RuntimeError(f"apt-get installed {package}, but {command} is still not found")
