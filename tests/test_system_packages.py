"""tests/system_packages.py: a program that is there is found (sbin folders included); one that is missing and
cannot be installed fails with the package to install, never silently."""

import os

import pytest
import system_packages
from system_packages import ensure_command

pytestmark = pytest.mark.unit


def test_an_installed_command_is_returned_without_installing(monkeypatch):
    monkeypatch.setattr(system_packages, "_apt", lambda args: pytest.fail(f"apt-get {args} for an installed command"))
    found = ensure_command("no-such-program-xyz", "unused", "sh")  # an alternative name counts
    assert os.path.basename(found) == "sh" and os.access(found, os.X_OK)


def test_a_missing_command_without_apt_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get, no sudo
    monkeypatch.setattr(system_packages, "_SEARCH", str(tmp_path))
    with pytest.raises(RuntimeError, match="install the package openssh-server"):
        ensure_command("sshd-not-here", "openssh-server")


def test_a_missing_command_is_installed_with_apt_get(monkeypatch, tmp_path):
    """The install path, without touching the machine: apt-get is asked for update and the package, then the
    command is looked up again."""
    calls = []
    program = tmp_path / "fresh-program"

    def fake_apt(args):
        calls.append(args)
        if args[0] == "install":
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)

    monkeypatch.setattr(system_packages, "_apt", fake_apt)
    monkeypatch.setattr(system_packages, "_updated", False)
    monkeypatch.setattr(system_packages, "_SEARCH", str(tmp_path))
    monkeypatch.setattr(system_packages.shutil, "which", lambda name, path=None: (
        "/usr/bin/apt-get" if name in ("apt-get", "sudo") else
        str(program) if name == "fresh-program" and program.exists() else None))
    assert ensure_command("fresh-program", "fresh-package") == str(program)
    assert calls == [["update"], ["install", "-y", "fresh-package"]]
