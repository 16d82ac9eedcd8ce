"""A pinned Trino server with an Iceberg catalog on the local file system, for the fidelity tier.

    python -m webevents.dev.trino_server test     # fetch, start, pytest -m trino tests/trino, stop
    python -m webevents.dev.trino_server start    # for developers: keeps running, prints the port
    python -m webevents.dev.trino_server status | stop

Trino comes from Maven Central (trino-server-core + the Iceberg plugin only, ~540 MB instead
of ~820 MB for the full server) into a cache outside the repo, reused when present. It runs
on loopback with a catalog `lake` (connector iceberg, file metastore, native local file
system), so no Docker, Hive metastore or object store is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from webevents import PROJECT_ROOT

TRINO_VERSION = "476"
# TrinoSystemRequirements in 476 refuses anything older than Java 24.0.1.
MIN_JAVA_MAJOR = 24
PREFERRED_JAVA_HOME = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
SERVER_ARTIFACT = ("io.trino", "trino-server-core", "tar.gz")
# Iceberg for the tables; Hive for the archive's external JSON-lines table, read from text
# files by the same connector Athena uses for Hive tables.
PLUGIN_ARTIFACTS = (
    ("io.trino", "trino-iceberg", "zip", "iceberg"),
    ("io.trino", "trino-hive", "zip", "hive"),
)

CATALOG = "lake"
# Athena's partitions-per-statement limit, which the tier enforces (docs/engine-fidelity.md).
MAX_PARTITIONS_PER_WRITE = 100
# One writer per query on this single node, so Iceberg's per-writer partition limit is a
# per-statement limit as on Athena: no writer scaling, one writer per task, one task.
WRITER_LIMITS = {
    "scale-writers": "false",
    "task.scale-writers.enabled": "false",
    "task.min-writer-count": "1",
    "task.max-writer-count": "1",
}
STARTUP_TIMEOUT_S = 180
# 2 cores / 24 GiB shared with the rest of CI: a 3 GiB heap is ample for fixture-sized data.
JVM_OPTIONS = (
    "-server",
    "-Xmx3G",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+UseContainerSupport",
    "-Djdk.attach.allowAttachSelf=true",
)


def cache_root() -> Path:
    """Where downloads and the developer server live: $WEBEVENTS_TRINO_CACHE or ~/.cache."""
    configured = os.environ.get("WEBEVENTS_TRINO_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "webevents" / "trino"


def install_dir(version: str = TRINO_VERSION) -> Path:
    return cache_root() / version / f"trino-server-{version}"


# -- fetching ----------------------------------------------------------------------------


def ensure_installed(version: str = TRINO_VERSION) -> Path:
    """The unpacked server with its plugins, fetched from Maven Central on first use."""
    target = install_dir(version)
    # The marker names the plugins, so adding one to PLUGIN_ARTIFACTS re-unpacks the server.
    marker = " ".join([version, *(name for *_, name in PLUGIN_ARTIFACTS)]) + "\n"
    if (target / ".installed").exists() and (target / ".installed").read_text() == marker:
        return target
    version_dir = target.parent
    version_dir.mkdir(parents=True, exist_ok=True)
    server_archive = fetch_artifact(*SERVER_ARTIFACT, version, version_dir)
    plugin_archives = [
        (fetch_artifact(group, artifact, ext, version, version_dir), plugin_name)
        for group, artifact, ext, plugin_name in PLUGIN_ARTIFACTS
    ]
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=version_dir))
    try:
        with tarfile.open(server_archive) as archive:
            archive.extractall(staging, filter="tar")
        (server_root,) = staging.iterdir()
        for plugin_archive, plugin_name in plugin_archives:
            with zipfile.ZipFile(plugin_archive) as archive:
                archive.extractall(server_root / "plugin")
            # The zip holds one folder named <artifact>-<version>; Trino names plugins by folder.
            unpacked = server_root / "plugin" / plugin_archive.name.rsplit(".", 1)[0]
            unpacked.rename(server_root / "plugin" / plugin_name)
        for launcher in (server_root / "bin").rglob("launcher"):
            launcher.chmod(0o755)
        (server_root / ".installed").write_text(marker)
        if target.exists():
            shutil.rmtree(target)
        server_root.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch_artifact(group: str, artifact: str, ext: str, version: str, version_dir: Path) -> Path:
    """One artifact from Maven Central through mvn, its ordinary client (checksums verified).

    Nothing is downloaded any other way: `make test-trino` installs Debian's maven first.
    """
    repository = version_dir / "m2"
    relative = Path(*group.split("."), artifact, version, f"{artifact}-{version}.{ext}")
    local = repository / relative
    if local.exists():
        return local
    started = time.monotonic()
    if not shutil.which("mvn"):
        raise RuntimeError("mvn not found: install Maven (`apt-get install maven`); the Trino "
                           "server and its plugins come from Maven Central through it")
    completed = subprocess.run(
        [
            "mvn",
            "--batch-mode",
            "--quiet",
            "--strict-checksums",
            "-Dstyle.color=never",
            f"-Dmaven.repo.local={repository}",
            f"{MAVEN_DEPENDENCY_PLUGIN}:get",
            f"-Dartifact={group}:{artifact}:{version}:{ext}",
            "-Dtransitive=false",
        ],
        cwd=version_dir,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"mvn could not fetch {group}:{artifact}:{version}:{ext} from Maven Central:\n"
            + (completed.stdout + completed.stderr)[-4000:]
        )
    size_mb = local.stat().st_size / 1e6
    print(
        f"fetched {group}:{artifact}:{version}:{ext} ({size_mb:.0f} MB) "
        f"in {time.monotonic() - started:.1f}s",
        flush=True,
    )
    return local


# -- java --------------------------------------------------------------------------------


def java_major(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    shown = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    found = re.search(r'version "(\d+)', shown)
    return int(found.group(1)) if found else None


def find_java_home() -> Path:
    """A JDK new enough for Trino: $WEBEVENTS_TRINO_JAVA_HOME, Temurin 25, $JAVA_HOME, others."""
    candidates = [
        os.environ.get("WEBEVENTS_TRINO_JAVA_HOME"),
        str(PREFERRED_JAVA_HOME),
        os.environ.get("JAVA_HOME"),
        *sorted((str(p) for p in Path("/usr/lib/jvm").glob("*")), reverse=True),
    ]
    for candidate in filter(None, candidates):
        major = java_major(Path(candidate))
        if major and major >= MIN_JAVA_MAJOR:
            return Path(candidate)
    raise SystemExit(
        f"Trino {TRINO_VERSION} needs Java {MIN_JAVA_MAJOR}+; none found. "
        "Set WEBEVENTS_TRINO_JAVA_HOME to a JDK 24 or newer."
    )


# -- configuration -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def catalog_properties(catalog: str, warehouse: Path) -> dict[str, dict[str, str]]:
    """An Iceberg catalog and its Hive twin, sharing one file metastore under warehouse.

    The Hive catalog (`<catalog>_hive`) holds external tables such as the JSON-lines archive;
    each connector redirects the other's tables, so `archive.x` reads fine from `<catalog>`.
    Paths are absolute (`local.location=/`) so external tables can point anywhere on disk.
    """
    hive_catalog = catalog + "_hive"
    shared = {
        # The file metastore keeps schema/table pointers as files: no service to run.
        "hive.metastore.catalog.dir": f"local://{warehouse.resolve()}",
        "fs.native-local.enabled": "true",
        "local.location": "/",
    }
    return {
        catalog: {
            "connector.name": "iceberg",
            "iceberg.catalog.type": "TESTING_FILE_METASTORE",
            **shared,
            "iceberg.file-format": "PARQUET",
            "iceberg.hive-catalog-name": hive_catalog,
            # Athena writes at most 100 partitions per INSERT / MERGE / CTAS
            # (HIVE_TOO_MANY_OPEN_PARTITIONS, Iceberg tables too:
            # https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html). Trino's
            # limit is per writer; with one writer per query (WRITER_LIMITS) it is per statement.
            "iceberg.max-partitions-per-writer": str(MAX_PARTITIONS_PER_WRITE),
            # VACUUM/expire_snapshots in tests may expire fresh snapshots.
            "iceberg.expire-snapshots.min-retention": "0s",
            "iceberg.remove-orphan-files.min-retention": "0s",
        },
        hive_catalog: {
            "connector.name": "hive",
            "hive.metastore": "file",
            **shared,
            "hive.iceberg-catalog-name": catalog,
            "hive.allow-register-partition-procedure": "true",
            # Athena-style partition projection (the archive table uses it).
            "hive.partition-projection-enabled": "true",
            # Athena returns no rows for a projected day with no folder; Trino fails unless told.
            "hive.ignore-absent-partitions": "true",
            "hive.non-managed-table-writes-enabled": "true",
        },
    }


def create_catalog_sql(catalog: str, warehouse: Path) -> list[str]:
    """CREATE CATALOG statements for a fresh catalog pair (tests isolate modules this way)."""
    warehouse.mkdir(parents=True, exist_ok=True)
    statements = []
    for name, properties in catalog_properties(catalog, warehouse).items():
        connector = properties["connector.name"]
        options = ", ".join(
            f"\"{key}\" = '{value}'" for key, value in properties.items() if key != "connector.name"
        )
        statements.append(f"create catalog {name} using {connector} with ({options})")
    return statements


def write_config(home: Path, port: int) -> None:
    """etc/ for a single-node coordinator on loopback plus the `lake` catalog."""
    etc = home / "etc"
    (etc / "catalog").mkdir(parents=True, exist_ok=True)
    (home / "data").mkdir(exist_ok=True)
    warehouse = home / "warehouse" / CATALOG
    warehouse.mkdir(parents=True, exist_ok=True)
    (etc / "catalog").mkdir(exist_ok=True)
    _write_properties(
        etc / "node.properties",
        {
            "node.environment": "webevents",
            "node.id": "webevents-fidelity",
            "node.data-dir": str(home / "data"),
            "node.bind-ip": "127.0.0.1",
            "node.internal-address": "127.0.0.1",
        },
    )
    _write_properties(
        etc / "config.properties",
        {
            "coordinator": "true",
            "node-scheduler.include-coordinator": "true",
            "http-server.http.port": str(port),
            "discovery.uri": f"http://127.0.0.1:{port}",
            "query.max-memory": "1GB",
            "query.max-memory-per-node": "1GB",
            "task.concurrency": "2",
            **WRITER_LIMITS,
            # Keep every query's statistics for the run (bench/bench_scan_budget.py reads
            # physical input bytes per statement from /v1/query); the default keeps 100.
            "query.max-history": "20000",
            "query.min-expire-age": "120m",
            # Tests add one catalog per module with CREATE CATALOG, so modules never share tables.
            "catalog.management": "dynamic",
            "catalog.store": "file",
        },
    )
    (etc / "jvm.config").write_text("\n".join(JVM_OPTIONS) + "\n")
    (etc / "log.properties").write_text("io.trino=WARN\nio.trino.server.Server=INFO\n")
    # Catalogs added with CREATE CATALOG are stored here too; start from `lake` alone.
    for stale in (etc / "catalog").glob("*.properties"):
        stale.unlink()
    for name, properties in catalog_properties(CATALOG, warehouse).items():
        _write_properties(etc / "catalog" / f"{name}.properties", properties)


def _write_properties(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


# -- the server process ------------------------------------------------------------------


@dataclass
class RunningServer:
    pid: int
    port: int
    home: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(home: Path, port: int | None = None) -> RunningServer:
    """Start Trino in the background (its own process group) and wait until it serves queries."""
    server_root = ensure_installed()
    java_home = find_java_home()
    port = port or free_port()
    write_config(home, port)
    env = {
        **os.environ,
        "JAVA_HOME": str(java_home),
        "PATH": f"{java_home / 'bin'}:{os.environ.get('PATH', '')}",
    }
    log = (home / "server.log").open("ab")
    process = subprocess.Popen(
        [
            str(server_root / "bin" / "launcher"),
            "run",
            f"--etc-dir={home / 'etc'}",
            f"--data-dir={home / 'data'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    server = RunningServer(pid=process.pid, port=port, home=str(home))
    try:
        wait_until_ready(server, process)
    except BaseException:
        stop_server(server)
        raise
    return server


def server_info(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/info", timeout=2) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def wait_until_ready(server: RunningServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Trino exited with {process.returncode} while starting; see "
                f"{server.home}/server.log:\n{_log_tail(server)}"
            )
        info = server_info(server.port)
        if info and info.get("starting") is False:
            return
        time.sleep(0.5)
    raise TimeoutError(
        f"Trino not ready after {STARTUP_TIMEOUT_S}s; log tail:\n{_log_tail(server)}"
    )


def _log_tail(server: RunningServer, lines: int = 40) -> str:
    log = Path(server.home) / "server.log"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def stop_server(server: RunningServer, grace_s: float = 30) -> None:
    """SIGTERM the server's process group (Trino shuts down cleanly), SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(server.pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- developer server state --------------------------------------------------------------


def developer_home() -> Path:
    return Path(os.environ.get("WEBEVENTS_TRINO_HOME") or cache_root() / "server")


def _state_file() -> Path:
    return developer_home() / "server.json"


def running_developer_server() -> RunningServer | None:
    """The server left by `start`, if it is still alive."""
    state = _state_file()
    if not state.exists():
        return None
    server = RunningServer(**json.loads(state.read_text()))
    return server if _alive(server.pid) else None


# -- commands ----------------------------------------------------------------------------


def test_command(pytest_args: list[str]) -> int:
    """Fetch (if needed), start a throwaway server, run the trino-marked suite, always stop."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    ensure_installed()
    timings["fetch/unpack"] = time.monotonic() - started
    home = Path(tempfile.mkdtemp(prefix="webevents-trino-"))
    server = None
    exit_code = 1
    try:
        mark = time.monotonic()
        server = start_server(home)
        timings["server start"] = time.monotonic() - mark
        print(
            f"Trino {TRINO_VERSION} ready at {server.url} (catalog {CATALOG!r}, "
            f"warehouse {home / 'warehouse'})",
            flush=True,
        )
        env = {
            **os.environ,
            "TRINO_HOST": "127.0.0.1",
            "TRINO_PORT": str(server.port),
            "TRINO_CATALOG": CATALOG,
            "WEBEVENTS_TRINO_WAREHOUSE": str(home / "warehouse"),
        }
        mark = time.monotonic()
        exit_code = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "trino",
                "-p",
                "no:cacheprovider",
                "tests/trino",
                *pytest_args,
            ],
            cwd=PROJECT_ROOT,
            env=env,
        ).returncode
        timings["tests"] = time.monotonic() - mark
    finally:
        mark = time.monotonic()
        if server:
            stop_server(server)
        timings["server stop"] = time.monotonic() - mark
        if exit_code == 0:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"kept {home} (server.log, warehouse) for inspection", flush=True)
        timings["total"] = time.monotonic() - started
        print(
            "trino tier timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()),
            flush=True,
        )
    return exit_code


def start_command(port: int | None) -> int:
    existing = running_developer_server()
    if existing:
        print(f"already running: {existing.url} (pid {existing.pid})")
        return 0
    home = developer_home()
    home.mkdir(parents=True, exist_ok=True)
    server = start_server(home, port)
    _state_file().write_text(json.dumps(server.__dict__))
    print(f"Trino {TRINO_VERSION} running at {server.url}, catalog {CATALOG!r}, data in {home}")
    print(f"use it with: TRINO_PORT={server.port} webevents query --engine trino 'select 1'")
    return 0


def stop_command() -> int:
    server = running_developer_server()
    if not server:
        print("no developer Trino server is running")
        return 0
    stop_server(server)
    _state_file().unlink(missing_ok=True)
    print(f"stopped Trino (pid {server.pid})")
    return 0


def status_command() -> int:
    server = running_developer_server()
    info = server_info(server.port) if server else None
    if not server or not info:
        print("not running")
        return 1
    print(f"running at {server.url} (pid {server.pid}): {json.dumps(info)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m webevents.dev.trino_server", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    test = commands.add_parser("test", help="run tests/trino against a throwaway server")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    start = commands.add_parser("start", help="start a server for manual use")
    start.add_argument("--port", type=int, help="fixed port (default: a free one)")
    commands.add_parser("stop", help="stop the server started by `start`")
    commands.add_parser("status", help="is the developer server running?")
    commands.add_parser("fetch", help="only download and unpack Trino into the cache")
    args = parser.parse_args(argv)
    if args.command == "test":
        return test_command(args.pytest_args)
    if args.command == "start":
        return start_command(args.port)
    if args.command == "stop":
        return stop_command()
    if args.command == "fetch":
        print(ensure_installed())
        return 0
    return status_command()


if __name__ == "__main__":
    sys.exit(main())
