"""A throw-away PostgreSQL 15 cluster of a test's own, for faults the shared server must never
suffer: stopped under running processes, restarted, started late.

``initdb`` into a temporary folder, on a free port, as the ``postgres`` user (initdb refuses
root, and the tests run as root here; when they do not, the cluster simply runs as the current
user). Trust authentication on a Unix socket inside the folder and on 127.0.0.1. One cluster
serves a whole test session (``initdb`` costs seconds); each test gets a fresh database in it.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from .live import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres() -> list[str]:
    """The command prefix that runs a program as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


class ThrowAwayCluster:
    """A PostgreSQL cluster in a temporary folder, started and stopped at will."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ordertower-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.log = self.folder / "postgres.log"
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run(BIN / "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.folder}'\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")

    def _run(self, *args: object) -> None:
        result = subprocess.run([*_as_postgres(), *map(str, args)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stdout}{result.stderr}"
                               + (self.log.read_text() if self.log.exists() else ""))

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def is_up(self) -> bool:
        try:
            with psycopg.connect(self.admin_url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def start(self) -> None:
        """Start the server and wait until it accepts connections (``pg_ctl -w``)."""
        self._run(BIN / "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends every session (what a restart does to clients),
        ``immediate`` is a crash (no shutdown checkpoint; recovery at the next start)."""
        self._run(BIN / "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def new_database(self) -> str:
        """A fresh, empty database in this cluster (the cluster must be up): its URL."""
        name = f"ordertower_{secrets.token_hex(4)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*_as_postgres(), str(BIN / "pg_ctl"), "-D", str(self.data), "-m",
                            "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
