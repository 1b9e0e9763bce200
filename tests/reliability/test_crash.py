"""Durability: SIGKILL the real server (``dmp-conformance serve`` subprocess) at seeded random moments under
a TD2.1 feed load, restart it on the same database, and check that every acknowledged submission is there with
its SHA-1 and that nothing is half-registered.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (see ``conformance/store/engine.py``): a commit is in the
WAL before the response is sent, so killing the *process* loses nothing (only a power cut may lose the last
commits, which this test does not simulate). ``DMP_CONFORMANCE_CRASH_KILLS`` raises the number of kills.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from conformance.client import DmpClient, signed_vihf_factory
from conformance.pki import TestPki
from conformance.store import Store
from conformance.vihf import AuthMode
from conformance.xds.builders import new_oid, new_submission_set, submission
from tests.reliability.registry_checks import registry_problems
from tests.server.conftest import PATIENT, free_port, seed_default
from tests.server.factory import LPS_OID, author, entry

KILLS = int(os.environ.get("DMP_CONFORMANCE_CRASH_KILLS", "20"))
SEED = 20261127


@dataclass
class FeedLoad:
    """TD2.1 submissions of 1 to 3 documents in a loop; remembers what the server acknowledged."""

    url: str
    pki: TestPki
    rng: random.Random
    acknowledged: dict[str, str] = field(default_factory=dict)  # document uniqueId → SHA-1
    sent: int = 0
    acknowledged_submissions: int = 0
    refused: list[int] = field(default_factory=list)  # HTTP statuses other than 200
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        factory = signed_vihf_factory(
            self.pki.ps_signature,
            mode=AuthMode.DIRECTE,
            subject_id=TestPki.PS_ID_NAT,
            structure_id=TestPki.STRUCTURE_ID,
        )
        with DmpClient(self.url, factory, timeout=10) as client:
            while not self.stop.is_set():
                documents = []
                for n in range(self.rng.randint(1, 3)):
                    content = (
                        f"<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='{new_oid(LPS_OID)}'/>"
                        f"<text>{'x' * self.rng.randint(0, 20_000)}</text></ClinicalDocument>"
                    ).encode()
                    documents.append((entry(PATIENT, entry_id=f"doc{n}"), content))
                sset = new_submission_set(
                    patient_id=PATIENT.cx(),
                    author=author(),
                    source_id=LPS_OID,
                    content_type_code=documents[0][0].class_code,
                )
                self.sent += 1
                try:
                    response = client.feed(submission(sset, documents), PATIENT)
                except httpx.TransportError:  # the server is down or died mid-exchange: not acknowledged
                    time.sleep(0.05)
                    continue
                if response.status_code == 200 and response.xds().success:
                    self.acknowledged_submissions += 1
                    self.acknowledged.update(
                        {d.unique_id or "": hashlib.sha1(c).hexdigest() for d, c in documents}
                    )
                else:
                    self.refused.append(response.status_code)


# A zygote: imports the real CLI once, then forks one ``serve`` process per line read on stdin and prints its
# pid. A restart after a kill then costs the server's own start (database, port), not an interpreter start.
ZYGOTE = """
import os, sys
import uvicorn, conformance.server.app, conformance.store, conformance.pki
from conformance.cli import app
child = 0
for _line in sys.stdin:
    if child:
        os.waitpid(child, 0)  # killed by the test: reaped before the next one binds the port
    child = os.fork()
    if child == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        try:
            app()
        finally:
            os._exit(0)
    print(child, flush=True)
if child:
    os.waitpid(child, 0)
"""


@dataclass
class Servers:
    """``dmp-conformance serve`` processes forked from a warm zygote, one at a time, on one port and DB."""

    port: int
    db_url: str
    ca: Path
    log: Path
    zygote: subprocess.Popen[bytes] | None = None
    pid: int = 0

    def start(self) -> None:
        """Fork a server; return once ``/health`` answers (stderr to a file: an unread pipe would block)."""
        if self.zygote is None:
            with self.log.open("ab") as sink:
                self.zygote = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        ZYGOTE,
                        "serve",
                        "--port",
                        str(self.port),
                        "--db",
                        self.db_url,
                        "--trust",
                        str(self.ca),
                        "--no-validate-requests",
                        "--log-level",
                        "error",
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=sink,
                )
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(b"go\n")
        self.zygote.stdin.flush()
        self.pid = int(self.zygote.stdout.readline())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError(f"serve did not start within 60 s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        if self.zygote is None:
            return
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)
        assert self.zygote.stdin is not None
        self.zygote.stdin.close()
        self.zygote.wait(timeout=30)


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_submission(db_url: str, tmp_path: Path) -> None:
    pki = TestPki.generate("crash")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.ca.cert_pem)
    store = Store.open(db_url)
    seed_default(store)
    store.close()
    rng = random.Random(SEED)
    log = tmp_path / "serve.log"
    port = free_port()
    servers = Servers(port, db_url, ca, log)
    load = FeedLoad(f"http://127.0.0.1:{port}", pki, random.Random(SEED + 1))
    feeder = threading.Thread(target=load.run, daemon=True)
    kills = 0
    try:
        servers.start()
        feeder.start()
        while kills < KILLS:
            time.sleep(rng.uniform(0.1, 0.8))  # the feed runs meanwhile
            servers.kill()
            kills += 1
            servers.start()
        time.sleep(0.5)
    finally:
        load.stop.set()
        feeder.join(timeout=30)
        servers.close()

    store = Store.open(db_url)
    try:
        lost = [
            uid
            for uid, sha1 in load.acknowledged.items()
            if (document := store.document(uid)) is None or document.sha1 != sha1
        ]
        problems = registry_problems(store.engine)
    finally:
        store.close()
    partial = sum(len(rows) for rows in problems.values())
    print(
        f"crash test: {kills} kills, {load.acknowledged_submissions} acknowledged, {len(lost)} lost, "
        f"{partial} partial [{db_url.split(':')[0]}: {len(load.acknowledged)} documents acknowledged, "
        f"{load.sent} submissions attempted]"
    )
    assert kills >= KILLS and len(load.acknowledged) > 0
    assert lost == [] and problems == {}
    assert 500 not in load.refused, log.read_text()[-3000:]
