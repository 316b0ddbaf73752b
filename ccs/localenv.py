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
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.5432"
# A non-login root shell (`su`, `sudo -s`, many containers) has no /usr/sbin in PATH, where
# Debian keeps runuser: tools are looked up in PATH and then in these folders.
_SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


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


def find_tool(name: str, package: str) -> str:
    """The absolute path of a system tool, or LocalServiceError naming what to install."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SYSTEM_DIRS])
    found = shutil.which(name, path=search)
    if found is None:
        raise LocalServiceError(
            f"'{name}' not found in PATH nor in {', '.join(_SYSTEM_DIRS)}: install Debian's "
            f"'{package}' package (scripts/bootstrap.sh does it)"
        )
    return found


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return [find_tool("runuser", "util-linux"), "-u", owner, "--", *cmd] if owner else cmd


def _run_as_owner(cmd: list[str], owner: str | None, **kwargs) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            _as_owner(cmd, owner), check=True, capture_output=True, text=True, **kwargs
        )
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise LocalServiceError(
            f"{Path(cmd[0]).name} failed (exit {exc.returncode})"
            + (f": {said[-1]}" if said else "")
        ) from None


def _process_of(pid_file: Path, marker: str) -> int | None:
    """The live (not zombie) process whose id ``pid_file`` holds, if its command line holds
    ``marker``: after a kill -9 the file stays, and its number may be a zombie or be reused by
    another process (another cluster's backend on a busy machine)."""
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0].strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return None
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return None
    return pid if marker in cmdline else None


def _processes_in(folder: Path) -> list[int]:
    """Live (not zombie) processes whose working folder is ``folder``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/cwd") != str(folder):
                continue
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _created_dirs(*dirs: Path) -> list[Path]:
    """The folders (with parents) among ``dirs`` that do not exist yet, deepest first."""
    missing = {p for d in dirs for p in (d, *d.parents) if not p.exists()}
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def _remove_empty(dirs: list[Path]) -> None:
    """After a failed start, remove the folders it made, unless something (a log) is in them."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            pass


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
        # The postmaster keeps its command line (postgres -D <cluster> ...); `pg_ctl status`
        # would trust a stale postmaster.pid whose number is now a zombie or another process.
        return _process_of(self.cluster_dir / "postmaster.pid", f" -D {self.cluster_dir} ") is not None

    def start(self) -> str:
        """Start the cluster (made on first use) unless it runs; returns the DSN.

        Raises LocalServiceError; a start that fails removes the folders it made (a folder
        holding a log stays, and the message names it)."""
        if self.owner:
            find_tool("runuser", "util-linux")
        created = _created_dirs(self.data_dir, self.socket_dir)
        try:
            return self._start()
        except BaseException:
            _remove_empty(created)
            raise

    def _start(self) -> str:
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
            self._remove_stale_lock()
            options = [
                "-c listen_addresses=''",
                f"-c unix_socket_directories='{self.socket_dir}'",
                "-c unix_socket_permissions=0700",
                "-c max_connections=200",
                "-c shared_buffers=256MB",
            ]
            if self.fast_unsafe:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            try:
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
            except LocalServiceError as exc:
                raise LocalServiceError(f"PostgreSQL did not start ({exc}); see {self.log_file}") from None
        self._ensure_database()
        return self.dsn

    def _remove_stale_lock(self) -> None:
        """After a kill -9 the postmaster.pid stays, and PostgreSQL refuses to start while its
        number is alive, which a zombie or a reused number is. It is removed once no process
        works in the cluster (every PostgreSQL process has it as its working folder), so
        PostgreSQL's own guard against two servers on one cluster loses nothing."""
        lock = self.cluster_dir / "postmaster.pid"
        if not lock.exists():
            return
        # The socket's lock file names the same dead postmaster (the folder is this cluster's).
        socket_lock = self.socket_dir / ".s.PGSQL.5432.lock"
        deadline = time.monotonic() + 15
        while _processes_in(self.cluster_dir):
            if time.monotonic() > deadline:
                raise LocalServiceError(
                    f"processes of a stopped PostgreSQL still work in {self.cluster_dir}: "
                    f"{', '.join(map(str, _processes_in(self.cluster_dir)[:5]))}"
                )
            time.sleep(0.1)
        lock.unlink(missing_ok=True)
        socket_lock.unlink(missing_ok=True)

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

    def _pid(self) -> int | None:
        # Redis titles itself "redis-server unixsocket:<path>"; the pid file and the socket
        # outlive a kill -9, and the number may be a zombie or another process by now.
        return _process_of(self.pid_file, f"unixsocket:{self.socket}")

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.socket))
                s.sendall(b"PING\r\n")
                reply = s.recv(64)
        except OSError:
            return False
        return reply.startswith(b"+PONG")  # not -LOADING: clients would get errors

    def is_running(self) -> bool:
        return self._pid() is not None

    def start(self) -> str:
        """Start the server unless it runs; returns its URL. Raises LocalServiceError; a start
        that fails removes the folders it made (a folder holding the log stays)."""
        binary = find_tool("redis-server", "redis-server")
        created = _created_dirs(self.data_dir, self.socket_dir)
        try:
            self._start(binary)
        except BaseException:
            _remove_empty(created)
            raise
        return self.url

    def _start(self, binary: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if not self.is_running():
            for stale in (self.pid_file, self.socket):
                stale.unlink(missing_ok=True)
            started = subprocess.run(
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
                capture_output=True,
                text=True,
            )
            log = self.data_dir / "redis.log"
            if started.returncode != 0:
                said = (started.stderr or started.stdout).strip().splitlines()
                raise LocalServiceError(
                    f"redis-server did not start (exit {started.returncode})"
                    + (f": {said[-1]}" if said else "") + f"; see {log}"
                )
            deadline = time.monotonic() + 20
            while not self._answers():
                if time.monotonic() > deadline:
                    raise LocalServiceError(f"redis did not start; see {log}")
                time.sleep(0.05)

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, 15)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self._pid() is not None:
            time.sleep(0.05)
