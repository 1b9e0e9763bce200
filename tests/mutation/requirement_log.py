"""pytest plugin for the mutation test: one JSON line per test (node id, outcome, requirement IDs) appended to
``$DMP_MUTATION_LOG``. Loaded with ``-p tests.mutation.requirement_log`` in the suite subprocesses."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    path = os.environ.get("DMP_MUTATION_LOG")
    if path and (report.when == "call" or report.outcome != "passed"):
        requirements = [str(r) for m in item.iter_markers("requirement") for r in m.args]
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"nodeid": item.nodeid, "when": report.when, "outcome": report.outcome,
                                  "requirements": requirements}) + "\n")
    return report
