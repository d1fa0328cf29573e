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

import pwd
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fixtures.processes import (
    SERVER_LOG,
    Package,
    StartFailed,
    Unavailable,
    account,
    debian_package,
    ensure_free,
    find_program,
    give,
    is_root,
    mariadb,
    postgres_cluster,
    run_step,
    scratch_dir,
    start_listening,
    stop_group,
)

PREFIX = "127.0.30"
SETUP_TIMEOUT = 120.0
_HINT = ".ci/run installs it"  # where a program is missing


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
        """Terminate the server's process group, wait for it, remove its directory."""
        stop_group(self.process)
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
    return find_program(*names, hint=_HINT)


def _needs_root(spec: ServerSpec) -> None:
    if spec.port < 1024 and not is_root():
        raise Unavailable(f"{spec.name} listens on port {spec.port}, which needs root")


def _run(argv: Sequence[str], workdir: Path, user: str | None = None) -> None:
    """A set-up step (initdb, ssh-keygen, ...); raise StartFailed with its output."""
    run_step(argv, workdir, user, timeout=SETUP_TIMEOUT)


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
    user = account("www-data", "nobody")
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
    user = account("www-data", "nobody")
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


def _postgresql(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    bindir, user, data, sockets = postgres_cluster(work)
    program = bindir / "postgres"
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"], work, user)
    argv = [str(program), "-D", str(data), "-p", str(spec.port), "-k", str(sockets)]
    argv += ["-c", f"listen_addresses={spec.address}"]
    return program, Launch(argv, user)


def _mariadb(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program, install, user, data = mariadb(work, hint=_HINT)
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
    user = account("redis")
    give(work, user)
    argv = [str(program), "--bind", spec.address, "--port", str(spec.port)]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(work), "--daemonize", "no"]
    return program, Launch(argv, user)


def _memcached(spec: ServerSpec, work: Path) -> tuple[Path, Launch]:
    program = _program("memcached")
    argv = [str(program), "-l", spec.address, "-p", str(spec.port), "-U", "0"]
    user = account("memcache", "nobody")
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


def start_one(spec: ServerSpec) -> RunningServer:
    """Start one server; raise Unavailable or StartFailed."""
    _needs_root(spec)
    ensure_free(spec)
    with scratch_dir(spec.name) as work:
        program, launch = _PREPARE[spec.name](spec, work)
        package = debian_package(program)
        process = start_listening(spec, launch.argv, work, launch.user)
        return RunningServer(spec, package, work, process, work / SERVER_LOG)


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
