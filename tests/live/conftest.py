"""A real PostgreSQL server with pgAudit for the live tests (``@pytest.mark.postgres``).

The cluster is made and run by ``scripts/pg_cluster.sh`` (which CI or a person can also
use by hand): a throwaway one in its own temp dir, on 127.0.0.1 and a free port, logging
csvlog and stderr. It is stopped and removed at the end of the session, failed or not.

Skip rule: where the server binaries or pgAudit are missing the tests SKIP, saying why;
with ``CI=true`` that is a FAILURE instead (CI must run them: ``scripts/test.sh`` installs
``postgresql`` and ``postgresql-15-pgaudit`` through ``scripts/bootstrap.sh
--with-postgres``). A server that is there but does not start fails everywhere.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "pg_cluster.sh"
LOG_LINE_PREFIX = "%m [%p] %q%u@%d %r %c %e [%a] "
"""The stderr log's prefix in the live cluster: every server field the parser maps
(time, user, database, client, session, SQLSTATE, application), so the stderr log can be
checked field by field against the csvlog of the same session."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI=true (CI must exercise the real server)."""
    if in_ci():
        pytest.fail(f"CI=true and the live PostgreSQL tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class PgCluster:
    """A running throwaway cluster (see ``scripts/pg_cluster.sh``)."""

    dir: Path
    host: str
    port: int
    bindir: Path
    logdir: Path
    log_line_prefix: str
    stopped: bool = field(default=False)

    def psql(self, sql: str, *, user: str = "postgres", db: str = "budget",
             app: str = "psql", check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``sql`` through psql (one session, one statement per query) as ``user``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGAPPNAME=app, PGCONNECT_TIMEOUT="10")
        cmd = [str(self.bindir / "psql"), "-X", "-q", "-v", f"ON_ERROR_STOP={int(check)}",
               "-h", self.host, "-p", str(self.port), "-U", user, "-d", db, "-f", "-"]
        out = subprocess.run(cmd, input=sql, env=env, capture_output=True, text=True,
                             timeout=60, check=False)
        if check and out.returncode != 0:
            msg = f"psql as {user} failed ({out.returncode}): {out.stderr.strip()}"
            raise AssertionError(msg)
        return out

    def stop(self) -> None:
        """Stop the server (its logs are complete and flushed afterwards); idempotent."""
        if not self.stopped:
            subprocess.run(["bash", str(SCRIPT), "stop", str(self.dir)], check=False,
                           timeout=60, capture_output=True)
            self.stopped = True

    def destroy(self) -> None:
        self.stop()
        if self.dir.exists():
            subprocess.run(["bash", str(SCRIPT), "destroy", str(self.dir)], check=False,
                           timeout=60, capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self, suffix: str) -> list[Path]:
        """The server's own log files ending with ``suffix`` (``.csv``, ``.log``)."""
        return sorted(p for p in self.logdir.iterdir() if p.name.endswith(suffix))


def start_cluster(*conf: str) -> PgCluster:
    """Start a cluster (extra ``postgresql.conf`` lines in ``conf``); skip/fail if impossible."""
    if shutil.which("bash") is None:
        unavailable("bash is missing")
    chk = subprocess.run(["bash", str(SCRIPT), "check"], capture_output=True, text=True,
                         timeout=60, check=False)
    if chk.returncode == 3:
        unavailable(chk.stderr.strip().removeprefix("pg_cluster: "))
    if chk.returncode != 0:
        pytest.fail(f"scripts/pg_cluster.sh check failed: {chk.stderr.strip()}", pytrace=False)
    args = ["bash", str(SCRIPT), "start"]
    for line in conf:
        args += ["-c", line]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    if out.returncode != 0:
        pytest.fail(f"the PostgreSQL server did not start (scripts/pg_cluster.sh start, exit "
                    f"{out.returncode}):\n{out.stderr.strip()}", pytrace=False)
    kv = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return PgCluster(dir=Path(kv["PG_CLUSTER_DIR"]), host=kv["PGHOST"], port=int(kv["PGPORT"]),
                     bindir=Path(kv["PGBIN"]), logdir=Path(kv["PG_LOGDIR"]),
                     log_line_prefix=LOG_LINE_PREFIX)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A running cluster with pgAudit, stopped and removed at the end of the session."""
    cluster = start_cluster(f"log_line_prefix = '{LOG_LINE_PREFIX}'")
    atexit.register(cluster.destroy)  # belt and braces: an interrupted session
    try:
        yield cluster
    finally:
        cluster.destroy()
        atexit.unregister(cluster.destroy)
