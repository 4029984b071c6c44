"""Finding a PostgreSQL server for the tests, or starting a throwaway one.

1. ``DALYVAUK_TEST_POSTGRES_URL`` names a server (any database on it; the tests create
   and drop their own databases).
2. Otherwise, when the server binaries (``initdb``, ``pg_ctl``) are installed, a throwaway
   cluster is started in a temporary directory on a free port and removed afterwards.
   ``initdb`` refuses to run as root, so as root it runs as the ``postgres`` system user.
3. Otherwise PostgreSQL tests are skipped, and the run says so plainly.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

URL_VARIABLE = "DALYVAUK_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "DALYVAUK_REQUIRE_POSTGRES"


@dataclass
class PostgresServer:
    admin_url: str  # postgresql://user@host:port/postgres
    data_dir: Path | None = None
    pg_ctl: list[str] | None = None

    def stop(self) -> None:
        if self.data_dir is None or self.pg_ctl is None:
            return
        subprocess.run(
            [*self.pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_throwaway() -> tuple[PostgresServer | None, str]:
    """A new cluster, or None and the reason it could not be started."""
    initdb, pg_ctl = _find_binary("initdb"), _find_binary("pg_ctl")
    if not initdb or not pg_ctl:
        return None, "the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="dalyvauk-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            import pwd

            account = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' user to run initdb as"
        if not runuser:
            return None, "running as root and 'runuser' is missing"
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data_dir = root / "data"
    init = subprocess.run(
        [
            *prefix,
            initdb,
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        return None, f"initdb failed: {init.stderr.strip()[-300:]}"
    port = _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    started = subprocess.run(
        [
            *prefix,
            pg_ctl,
            "-D",
            str(data_dir),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        return None, f"pg_ctl start failed: {started.stderr.strip()[-300:]}"
    server = PostgresServer(
        admin_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        data_dir=data_dir,
        pg_ctl=[*prefix, pg_ctl],
    )
    return server, ""


def find_server() -> tuple[PostgresServer | None, str]:
    url = os.environ.get(URL_VARIABLE)
    if url:
        return PostgresServer(admin_url=url), ""
    return start_throwaway()


def with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"
