"""A throw-away PostgreSQL cluster for the tests: initdb into a temp dir, pg_ctl on a free
loopback port (its unix socket in the same dir), torn down at the end.

Debian keeps the binaries in /usr/lib/postgresql/<major>/bin (``.ci/run`` puts the newest on
PATH). PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user
(created by Debian's package) and its folder belongs to that user. No binaries: :func:`pg_bin`
returns None and the tests that need the server are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "piggyback_test"


def pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "pg_ctl").exists():
        return Path(found).resolve().parent  # a symlink on PATH: the folder it points into
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                  if Path(p).parent.name.isdigit() else 0)
    for d in reversed(dirs):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="piggyback-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                info = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root needs a 'postgres' user to run the server") from None
            os.chown(self.dir, info.pw_uid, info.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=timeout,
                                cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}")

    def start(self) -> "Cluster":
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        return self.run_server()

    def run_server(self) -> "Cluster":
        """Start the server on the cluster's folder (again, after :meth:`crash`)."""
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=120")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def crash(self) -> None:
        """Stop the server the hard way (no shutdown checkpoint), as a dying machine would."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, dbname: str = "postgres", *, host: str = "127.0.0.1") -> str:
        return f"postgresql://{SUPERUSER}@{host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # test-made names only
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster() -> Cluster:
    """A started cluster, or RuntimeError saying why not (the caller skips)."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found: install Debian's postgresql "
                           "(see .ci/run)")
    cluster = Cluster(bindir)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


def wait_closed(port: int, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
