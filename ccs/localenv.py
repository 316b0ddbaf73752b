"""Embedded PostgreSQL and Redis for the demo and the tests.

Both servers run from Debian's binaries with their data in a folder inside the checkout and
listen only on Unix sockets in that folder, so two checkouts on one machine never collide on
ports and nothing is reachable from the network. PostgreSQL refuses to run as root, so when we
are root the cluster belongs to Debian's ``postgres`` account.
"""
from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.5432"


class LocalServiceError(RuntimeError):
    pass


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
    if not candidates:
        raise LocalServiceError(
            "PostgreSQL binaries not found: install Debian's 'postgresql' package "
            "(scripts/bootstrap.sh does it)"
        )
    return Path(candidates[-1]).parent


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parts[-3])
    except ValueError:
        return 0


def _socket_dir(data_dir: Path, name: str) -> Path:
    """A short directory for Unix sockets: inside the data folder when the path fits."""
    wanted = data_dir / "run"
    if len(str(wanted)) + 20 < _MAX_SOCKET_PATH:
        return wanted
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ccs-{name}-{digest}"


def _run_as_owner(cmd: list[str], owner: str | None, **kwargs) -> subprocess.CompletedProcess:
    if owner:
        cmd = ["runuser", "-u", owner, "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


@dataclass
class LocalPostgres:
    """A PostgreSQL cluster in ``data_dir`` reachable through a Unix socket only."""

    data_dir: Path
    database: str = "ccs"
    user: str = "ccs"
    fast_unsafe: bool = False  # fsync off: for throwaway test clusters only

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.cluster_dir = self.data_dir / "pgdata"
        self.socket_dir = _socket_dir(self.data_dir, "pg")
        self.log_file = self.data_dir / "postgres.log"
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.bindir = _pg_bindir()

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@/{self.database}?host={self.socket_dir}"

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.owner:
            pw = pwd.getpwnam(self.owner)
            for d in (self.data_dir, self.socket_dir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            if self.log_file.exists():
                os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
            # The cluster owner must be able to reach the data folder through its parents.
            for parent in self.data_dir.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    raise LocalServiceError(
                        f"{parent} is not traversable by the '{self.owner}' account; "
                        "set CCS_LOCAL__DATA_DIR to a folder it can reach"
                    )

    def is_running(self) -> bool:
        if not (self.cluster_dir / "postmaster.pid").exists():
            return False
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.cluster_dir), "status"]
        if self.owner:
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True).returncode == 0

    def start(self) -> str:
        self._prepare_dirs()
        if not (self.cluster_dir / "PG_VERSION").exists():
            _run_as_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D", str(self.cluster_dir),
                    "-U", self.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                self.owner,
            )
        if not self.is_running():
            options = [
                "-c listen_addresses=''",
                f"-c unix_socket_directories='{self.socket_dir}'",
                "-c unix_socket_permissions=0700",
                "-c max_connections=200",
                "-c shared_buffers=256MB",
            ]
            if self.fast_unsafe:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            _run_as_owner(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D", str(self.cluster_dir),
                    "-l", str(self.log_file),
                    "-o", " ".join(options),
                    "-w", "-t", "60",
                    "start",
                ],
                self.owner,
            )
        self._ensure_database()
        return self.dsn

    def _ensure_database(self) -> None:
        psql = [str(self.bindir / "psql"), "-h", str(self.socket_dir), "-U", self.user, "-d", "postgres", "-tAc"]
        exists = _run_as_owner(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"], self.owner
        ).stdout.strip()
        if exists != "1":
            _run_as_owner([*psql, f'CREATE DATABASE "{self.database}"'], self.owner)

    def stop(self) -> None:
        if self.is_running():
            _run_as_owner(
                [str(self.bindir / "pg_ctl"), "-D", str(self.cluster_dir), "-m", "fast", "-w", "stop"],
                self.owner,
            )


@dataclass
class LocalRedis:
    """A Redis server in ``data_dir`` reachable through a Unix socket only, with AOF on."""

    data_dir: Path

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.socket_dir = _socket_dir(self.data_dir, "redis")
        self.socket = self.socket_dir / "redis.sock"
        self.pid_file = self.data_dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def is_running(self) -> bool:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return False
        return self.socket.exists()

    def start(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise LocalServiceError(
                "redis-server not found: install Debian's 'redis-server' package "
                "(scripts/bootstrap.sh does it)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if not self.is_running():
            subprocess.run(
                [
                    binary,
                    "--port", "0",
                    "--unixsocket", str(self.socket),
                    "--unixsocketperm", "700",
                    "--dir", str(self.data_dir),
                    "--daemonize", "yes",
                    "--pidfile", str(self.pid_file),
                    "--logfile", str(self.data_dir / "redis.log"),
                    "--appendonly", "yes",
                    "--save", "",
                ],
                check=True,
            )
            deadline = time.monotonic() + 20
            while not self.socket.exists():
                if time.monotonic() > deadline:
                    raise LocalServiceError(f"redis did not start; see {self.data_dir / 'redis.log'}")
                time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if not self.is_running():
            return
        pid = int(self.pid_file.read_text().strip())
        os.kill(pid, 15)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
