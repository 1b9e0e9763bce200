"""Bounded fuzzing of every parser of untrusted bytes (see :mod:`conformance.fuzz`) and of the live server.

CI budget: up to ``INPUTS`` inputs or ``SECONDS`` per target
(over 10,000 in total). ``DMP_CONFORMANCE_FUZZ_BUDGET``
(seconds per target) turns it into a longer, unbounded-count run.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from conformance.fuzz import FuzzStats, Seed, Target, run_target, seeds_for, targets
from conformance.plugin import official_dir_from
from tests.reliability.registry_checks import registry_counts
from tests.server.conftest import RunningServer

BUDGET = os.environ.get("DMP_CONFORMANCE_FUZZ_BUDGET")
SECONDS = float(BUDGET) if BUDGET else 15.0
INPUTS = 10**9 if BUDGET else 4_000
HTTP_INPUTS = 10**9 if BUDGET else 500


@pytest.fixture(scope="module")
def seeds(pytestconfig: pytest.Config) -> list[Seed]:
    official: Path | None = official_dir_from(pytestconfig)
    return seeds_for(official)


def _report(stats: FuzzStats) -> None:
    print(
        f"fuzz {stats.target}: {stats.inputs} inputs in {stats.seconds:.1f} s, {stats.typed_errors} typed "
        f"errors, slowest {stats.slowest * 1000:.0f} ms, {len(stats.failures)} failures"
    )
    for failure in stats.failures[:3]:
        print(f"--- input ({failure.content_type!r}): {failure.data[:300]!r}\n{failure.error}")


@pytest.mark.parametrize("name", sorted(targets()))
def test_fuzz_target_only_answers_with_typed_errors(name: str, seeds: list[Seed]) -> None:
    stats = run_target(targets()[name], seeds, max_inputs=INPUTS, seconds=SECONDS)
    _report(stats)
    assert stats.failures == [], stats.failures[0].error
    assert stats.inputs >= min(INPUTS, 500)


def test_fuzz_the_live_server_never_answers_500(hardened: RunningServer, seeds: list[Seed]) -> None:
    client = httpx.Client(base_url=hardened.url, timeout=30)

    def post(data: bytes, content_type: str | None) -> None:
        headers = {"content-type": content_type} if content_type else {}
        response = client.post("/si-dmp-server/v2/services/repository", content=data, headers=headers)
        assert response.status_code in (200, 400, 404, 413), response.text[:500]

    before = registry_counts(hardened.store.engine)
    try:
        stats = run_target(Target("server-http", post), seeds, max_inputs=HTTP_INPUTS, seconds=SECONDS)
    finally:
        client.close()
    _report(stats)
    assert stats.failures == [], stats.failures[0].error
    # the fuzzed signed TD2.1 seed may go through intact: then it is a whole submission, never a part of one
    after = registry_counts(hardened.store.engine)
    assert after["document_entries"] - before["document_entries"] == 2 * (
        after["submission_sets"] - before["submission_sets"]
    )
