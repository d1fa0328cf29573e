"""Real servers from Debian packages, started by the tests on 127.0.30.x.

Each server runs in the foreground as a child process (no systemd), with a
configuration written to its own temporary directory, listening only on its
own loopback address and its standard port. A server whose program is not
installed is *unavailable* (its tests skip with the reason); one that is
installed but does not come up has *failed* (its tests fail with its log).
Each also tells the Debian package it came from and that package's version,
so tests compare what trustscan reads against the real package.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "127.0.30"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SETUP_TIMEOUT = 120.0
# Where Debian puts daemons; a non-root PATH often lacks the sbin directories.
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
)
_LOG_TAIL = 2000


class Unavailable(Exception):
    """The server cannot run here (its program is missing): its tests skip."""


class StartFailed(Exception):
    """The server is installed but did not come up: its tests fail."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str  # Debian's full version: 1:9.2p1-2+deb12u3

    @property
    def upstream(self) -> str:
        """The upstream release inside the Debian version: 1:9.2p1-2+deb12u3 is 9.2p1."""
        return upstream_version(self.version)


def upstream_version(debian_version: str) -> str:
    """Drop the epoch (`1:`), the Debian revision (`-2+deb12u3`) and repack
    suffixes (`+dfsg`, `~rc`) from a Debian package version."""
    text = re.sub(r"^\d+:", "", debian_version.strip())
    if "-" in text:
        text = text.rsplit("-", 1)[0]
    return re.split(r"[+~]", text, maxsplit=1)[0]


@dataclass(frozen=True)
class ServerSpec:
    name: str  # apache2, nginx, sshd, ...
    octet: int
    port: int

    @property
    def address(self) -> str:
        return f"{PREFIX}.{self.octet}"


SPECS: tuple[ServerSpec, ...] = (
    ServerSpec("apache2", 1, 80),
    ServerSpec("nginx", 2, 80),
    ServerSpec("sshd", 3, 22),
    ServerSpec("vsftpd", 4, 21),
    ServerSpec("postgresql", 5, 5432),
    ServerSpec("mariadb", 6, 3306),
    ServerSpec("redis", 7, 6379),
    ServerSpec("memcached", 8, 11211),
)


@dataclass
class RunningServer:
    spec: ServerSpec
    package: Package
    workdir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server's process group and wait for it."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class RealServers:
    running: dict[str, RunningServer] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # name -> why it skips
    failed: dict[str, str] = field(default_factory=dict)  # name -> why it did not start

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()


# --- helpers -------------------------------------------------------------


def _program(*names: str) -> Path:
    for name in names:
        found = shutil.which(name, path=_SEARCH_PATH)
        if found:
            return Path(found)
    raise Unavailable(f"{' / '.join(names)} is not installed (.ci/run installs it)")


def _package_of(program: Path) -> Package:
    """The Debian package that installed `program`, and its version."""
    if shutil.which("dpkg-query") is None:
        raise Unavailable("dpkg-query is missing: the real-server tests need a Debian system")
    for path in dict.fromkeys([program, program.resolve()]):
        owner = subprocess.run(
            ["dpkg-query", "-S", str(path)], capture_output=True, text=True, check=False
        )
        if owner.returncode != 0:
            continue
        name = owner.stdout.split(":", 1)[0].strip()
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if name and version:
            return Package(name, version)
    raise Unavailable(f"{program} does not come from a Debian package dpkg knows")


def _is_root() -> bool:
    return os.geteuid() == 0


def _needs_root(spec: ServerSpec) -> None:
    if spec.port < 1024 and not _is_root():
        raise Unavailable(f"{spec.name} listens on port {spec.port}, which needs root")


def _account(*names: str) -> str | None:
    """The first existing user to run a server as (root only), else None."""
    if not _is_root():
        return None
    for name in names:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None


def _give(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user, pwd.getpwnam(user).pw_gid)


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


def _run(argv: Sequence[str], workdir: Path, user: str | None = None) -> None:
    """A set-up step (initdb, ssh-keygen, ...); raise StartFailed with its output."""
    try:
        done = subprocess.run(
            list(argv),
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
            check=False,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            extra_groups=[] if user else None,
        )
    except subprocess.TimeoutExpired:
        raise StartFailed(f"{argv[0]} did not finish within {SETUP_TIMEOUT:g}s") from None
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-_LOG_TAIL:]
        raise StartFailed(f"{' '.join(argv)} exited with {done.returncode}: {output}")


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    user: str | None = None  # start it as this user (for servers that cannot drop root)


# --- one function a server: write its config, return how to start it ------


def _apache(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("apache2")
    modules = Path("/usr/lib/apache2/modules")
    mpm = modules / "mod_mpm_event.so"
    if not mpm.exists():
        raise Unavailable(f"{mpm} is missing (package apache2-bin)")
    user = _account("www-data", "nobody")
    group = pwd.getpwnam(user).pw_gid if user else None
    docs = work / "htdocs"
    docs.mkdir()
    (docs / "index.html").write_text("<html><body>trustscan test</body></html>\n")
    lines = [
        f'ServerRoot "{work}"',
        f'DefaultRuntimeDir "{work}"',
        f'PidFile "{work}/apache2.pid"',
        f'ErrorLog "{work}/error.log"',
        f"LoadModule mpm_event_module {mpm}",
        f"LoadModule authz_core_module {modules / 'mod_authz_core.so'}",
        # Serve / with a 200 like a stock install: nmap reads `Server:` from it.
        f"LoadModule dir_module {modules / 'mod_dir.so'}",
        "DirectoryIndex index.html",
        f"Listen {spec.address}:{spec.port}",
        f"ServerName {spec.address}",
        # Debian's defaults (security.conf): the banner names the distribution.
        "ServerTokens OS",
        "ServerSignature On",
        f'DocumentRoot "{docs}"',
        f'<Directory "{docs}">',
        "  Require all granted",
        "</Directory>",
    ]
    if user is not None:
        lines += [f"User {user}", f"Group #{group}"]
    conf = work / "apache2.conf"
    conf.write_text("\n".join(lines) + "\n")
    return program, Launch([str(program), "-DFOREGROUND", "-d", str(work), "-f", str(conf)])


def _nginx(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("nginx")
    user = _account("www-data", "nobody")
    html = work / "html"
    html.mkdir()
    (html / "index.html").write_text("<html><body>trustscan test</body></html>\n")
    temp = {kind: work / f"{kind}_temp" for kind in ("client_body", "proxy", "fastcgi")}
    temp |= {kind: work / f"{kind}_temp" for kind in ("uwsgi", "scgi")}
    conf = work / "nginx.conf"
    conf.write_text(
        "\n".join(
            [
                *([f"user {user};"] if user else []),
                "worker_processes 1;",
                f"pid {work}/nginx.pid;",
                f"error_log {work}/error.log;",
                "events { worker_connections 64; }",
                "http {",
                "  access_log off;",
                *(f"  {kind}_temp_path {path};" for kind, path in temp.items()),
                "  server {",
                f"    listen {spec.address}:{spec.port};",
                f"    root {html};",
                "  }",
                "}",
            ]
        )
        + "\n"
    )
    argv = [str(program), "-p", str(work), "-e", str(work / "error.log"), "-c", str(conf)]
    return program, Launch([*argv, "-g", "daemon off;"])


def _sshd(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("sshd")
    keygen = _program("ssh-keygen")
    key = work / "ssh_host_ed25519_key"
    _run([str(keygen), "-q", "-t", "ed25519", "-N", "", "-f", str(key)], work)
    # sshd's privilege-separation directory; its systemd unit normally makes it.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    conf = work / "sshd_config"
    conf.write_text(
        "\n".join(
            [
                f"ListenAddress {spec.address}:{spec.port}",
                f"HostKey {key}",
                f"PidFile {work}/sshd.pid",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
            ]
        )
        + "\n"
    )
    conf.chmod(0o600)
    # sshd re-executes itself, so it must be started by its absolute path.
    return program, Launch([str(program.resolve()), "-D", "-e", "-f", str(conf)])


def _vsftpd(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("vsftpd")
    empty = work / "empty"
    empty.mkdir(mode=0o755)
    conf = work / "vsftpd.conf"
    conf.write_text(
        "\n".join(
            [
                "listen=YES",
                "listen_ipv6=NO",
                f"listen_address={spec.address}",
                f"listen_port={spec.port}",
                "background=NO",
                # With both kinds of login off vsftpd greets with an error, not its banner.
                "anonymous_enable=NO",
                "local_enable=YES",
                "write_enable=NO",
                "xferlog_enable=NO",
                f"vsftpd_log_file={work}/vsftpd.log",
                f"secure_chroot_dir={empty}",
                "pam_service_name=vsftpd",
                # The seccomp sandbox fails in some containers; it changes no banner.
                "seccomp_sandbox=NO",
            ]
        )
        + "\n"
    )
    conf.chmod(0o600)
    return program, Launch([str(program), str(conf)])


def _postgres_bin() -> Path:
    """The newest installed major version: /usr/lib/postgresql/<major>/bin."""
    found = sorted(
        (int(p.parent.parent.name), p.parent)
        for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")
        if p.parent.parent.name.isdigit()
    )
    if not found:
        raise Unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)")
    return found[-1][1]


def _postgresql(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    bindir = _postgres_bin()
    program = bindir / "postgres"
    user = _account("postgres")
    if _is_root() and user is None:
        raise Unavailable("PostgreSQL refuses to run as root and there is no postgres user")
    data, sockets = work / "data", work / "sockets"
    for directory in (data, sockets):
        directory.mkdir(mode=0o700)
        _give(directory, user)
    _give(work, user)
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"], work, user)
    argv = [str(program), "-D", str(data), "-p", str(spec.port), "-k", str(sockets)]
    argv += ["-c", f"listen_addresses={spec.address}"]
    return program, Launch(argv, user)


def _mariadb(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("mariadbd", "mysqld")
    install = _program("mariadb-install-db", "mysql_install_db")
    user = _account("mysql") or (pwd.getpwuid(os.geteuid()).pw_name)
    data = work / "data"
    data.mkdir(mode=0o750)
    _give(data, user if _is_root() else None)
    _give(work, user if _is_root() else None)
    common = [
        f"--datadir={data}",
        f"--user={user}",
        f"--socket={work}/mysqld.sock",
        f"--pid-file={work}/mysqld.pid",
    ]
    # --no-defaults keeps the machine's /etc/mysql (and its running server's socket) out.
    _run(
        [
            str(install),
            "--no-defaults",
            *common,
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
        ],
        work,
    )
    argv = [str(program), "--no-defaults", *common]
    argv += [f"--bind-address={spec.address}", f"--port={spec.port}", "--skip-log-bin"]
    argv += ["--innodb-buffer-pool-size=16M", f"--log-error={work}/mariadb.err"]
    return program, Launch(argv)


def _redis(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("redis-server")
    user = _account("redis")
    _give(work, user)
    argv = [str(program), "--bind", spec.address, "--port", str(spec.port)]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(work), "--daemonize", "no"]
    return program, Launch(argv, user)


def _memcached(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("memcached")
    argv = [str(program), "-l", spec.address, "-p", str(spec.port), "-U", "0"]
    user = _account("memcache", "nobody")
    if user is not None:
        argv += ["-u", user]  # memcached drops root itself
    return program, Launch(argv)


_PREPARE: dict[str, Callable[[ServerSpec, Path], tuple[Path, Launch]]] = {
    "apache2": _apache,
    "nginx": _nginx,
    "sshd": _sshd,
    "vsftpd": _vsftpd,
    "postgresql": _postgresql,
    "mariadb": _mariadb,
    "redis": _redis,
    "memcached": _memcached,
}


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()[-_LOG_TAIL:]
    except OSError:
        return ""


def _logs(work: Path) -> str:
    parts = []
    for path in sorted(work.glob("*.log")) + sorted(work.glob("*.err")):
        text = _tail(path)
        if text:
            parts.append(f"{path.name}: {text}")
    return "\n".join(parts)


def _wait_until_listening(spec: ServerSpec, process: subprocess.Popen[bytes], work: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(
                f"{spec.name} exited with {process.returncode} before listening on "
                f"{spec.address}:{spec.port}:\n{_logs(work)}"
            )
        if _accepts(spec.address, spec.port):
            return
        time.sleep(0.1)
    raise StartFailed(
        f"{spec.name} did not listen on {spec.address}:{spec.port} within "
        f"{START_TIMEOUT:g}s:\n{_logs(work)}"
    )


def start_one(spec: ServerSpec) -> RunningServer:
    """Start one server; raise Unavailable or StartFailed."""
    _needs_root(spec)
    if _accepts(spec.address, spec.port):
        # Not ours: a system service on 0.0.0.0, or a server a crashed run left.
        raise StartFailed(
            f"something already listens on {spec.address}:{spec.port}; stop it "
            "(e.g. a distribution service bound to 0.0.0.0) and run again"
        )
    work = Path(tempfile.mkdtemp(prefix=f"trustscan-{spec.name}-"))
    # Servers that drop root must reach their files.
    work.chmod(0o755)
    try:
        program, launch = _PREPARE[spec.name](spec, work)
        package = _package_of(program)
        log = work / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                launch.argv,
                cwd=work,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
                user=launch.user,
                group=pwd.getpwnam(launch.user).pw_gid if launch.user else None,
                extra_groups=[] if launch.user else None,
            )
        server = RunningServer(spec, package, work, process, log)
        try:
            _wait_until_listening(spec, process, work)
        except BaseException:
            server.stop()
            raise
        return server
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def start(specs: Sequence[ServerSpec] = SPECS) -> RealServers:
    """Start every server that can run here, in parallel."""
    servers = RealServers()

    def one(spec: ServerSpec) -> None:
        try:
            servers.running[spec.name] = start_one(spec)
        except Unavailable as exc:
            servers.unavailable[spec.name] = str(exc)
        except (StartFailed, OSError) as exc:
            servers.failed[spec.name] = f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=len(specs) or 1) as pool:
        list(pool.map(one, specs))
    return servers
