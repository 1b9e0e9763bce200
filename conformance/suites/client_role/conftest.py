"""Fixtures of the client-role suite: the bench's reference DMP, the LPS scenario, and waiting for its
requests.

Operate the LPS under test against the printed URL (or give ``--lps-command``, which gets the URL in
``$DMP_CONFORMANCE_DMP_URL``); the DMP must trust the LPS's VIHF signer (``--dmp-options "--trust ca.pem"``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.plugin import Evidence, SutSettings, embedded_dmp, recorder_of, reference_dmp_available
from conformance.suites.captures import wait_for_capture

URL_ENV = "DMP_CONFORMANCE_DMP_URL"


class LpsScenario:
    """The ``--lps-command`` process (if any): its log, and whether it already ended."""

    def __init__(self, command: str | None, url: str, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        if command:
            with log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    shlex.split(command),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, URL_ENV: url},
                )

    def ended(self) -> str | None:
        """Why waiting is pointless (the scenario finished), or None."""
        if self.process is None or self.process.poll() is None:
            return None
        return f"the LPS command ended with code {self.process.returncode} (log: {self.log_path})"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def reference_dmp(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bench's DMP the LPS under test talks to; prints its URL, then starts the LPS scenario if given."""
    if not reference_dmp_available():
        pytest.skip("reference DMP not available (conformance.server / the serve command are not installed)")
    settings: SutSettings = recorder_of(pytestconfig).settings
    folder = tmp_path_factory.mktemp("client-role")
    with embedded_dmp(folder / "dmp.sqlite", settings.dmp_options, port=settings.dmp_port) as url:
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"\nreference DMP for the LPS under test: {url}/si-dmp-server/v2/services/"
                "{registry,repository,patients,habilitations}"
            )
        yield url


@pytest.fixture(scope="session")
def lps_scenario(
    pytestconfig: pytest.Config, reference_dmp: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LpsScenario]:
    settings: SutSettings = recorder_of(pytestconfig).settings
    scenario = LpsScenario(settings.lps_command, reference_dmp, tmp_path_factory.mktemp("lps") / "lps.log")
    yield scenario
    scenario.stop()


@pytest.fixture
def lps_capture(
    pytestconfig: pytest.Config, reference_dmp: str, lps_scenario: LpsScenario, evidence: Evidence
) -> Iterator[Callable[[str], dict[str, Any]]]:
    """``lps_capture("TD2.1")``: wait for that request from the LPS; its request and answer become
    evidence."""
    timeout = recorder_of(pytestconfig).settings.wait_timeout
    with httpx.Client(base_url=reference_dmp, timeout=10.0) as dmp:

        def wait(transaction: str) -> dict[str, Any]:
            capture = wait_for_capture(dmp, transaction, timeout=timeout, give_up=lps_scenario.ended)
            for part in ("request", "response"):
                raw = dmp.get(capture[part])
                evidence.attach(f"{transaction}-{part}.txt", raw.content, "text/plain")
                capture[f"{part}_bytes"] = raw.content  # the raw exchange, for tests that read the message
            return capture

        yield wait
