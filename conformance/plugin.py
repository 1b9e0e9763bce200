"""pytest plugin of the bench (entry point ``pytest11``): requirement markers, the SUT, evidence and the run
report.

Usable from any project (a vendor's own test tree included):

- ``@pytest.mark.requirement("EX_2.1-1140", ...)`` names what a test verifies; an ID missing from the
  requirement catalogue stops the session at collection;
- ``--sut-url`` / ``--sut-role`` / ``--profile`` / ``--sut-preset FILE.yaml`` describe the system under test
  (without ``--sut-url`` the ``sut_url`` fixture starts the embedded reference DMP);
- the ``evidence`` fixture attaches files and findings to the current test;
- ``--report-dir DIR`` writes a signed run directory (report.json, report.html, junit.xml, allure-results/,
  evidence/, manifest) at the end of the session;
- ``--official-dir PATH`` points the fixtures at the official artefacts.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import __version__
from conformance.findings import ArtefactResult, Finding, rules

OFFICIAL_ENV = "DMP_CONFORMANCE_OFFICIAL"
ROLES = ("server", "client", "documents")
_PRESET_KEYS = {
    "sut_url",
    "sut_role",
    "profile",
    "software_name",
    "software_version",
    "report_dir",
    "signing_key",
    "dmp_port",
    "dmp_options",
    "lps_command",
    "wait_timeout",
    "documents_dir",
    "sut_patient",
    "vihf_cert",
    "vihf_key",
    "vihf_subject",
}
_SERVER_START_TIMEOUT = 60.0  # a cold start imports every validator; CI machines can be slow


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dmp-conformance")
    group.addoption(
        "--official-dir",
        action="store",
        default=None,
        help=f"folder of the official ANS/GIE artefacts (default: ${OFFICIAL_ENV} or ../shared/official)",
    )
    group.addoption(
        "--sut-url",
        default=None,
        help="base URL of the system under test (default: start the embedded reference DMP)",
    )
    group.addoption(
        "--sut-role",
        default=None,
        choices=ROLES,
        help="role of the system under test: server (a DMP), client (an LPS) or documents",
    )
    group.addoption(
        "--profile",
        dest="dmp_profile",
        default=None,
        help="homologation profile to test (Accès, Alimentation, Consultation, Gestion administrative, "
        "Documents): deselects tests whose requirements all belong to other profiles",
    )
    group.addoption(
        "--sut-preset",
        default=None,
        help="YAML file holding the same settings (sut_url, sut_role, profile, software_name, "
        "software_version, report_dir, signing_key); command-line options win",
    )
    group.addoption(
        "--report-dir",
        default=None,
        help="write the signed run directory (report.json/html, junit.xml, evidence, manifest) here",
    )
    group.addoption(
        "--signing-key",
        default=None,
        help="Ed25519 private key (PEM) signing the run manifest (default: a key generated per run)",
    )
    group.addoption(
        "--dmp-port",
        default=None,
        help="client role: port of the bench's reference DMP the LPS under test calls (default: free)",
    )
    group.addoption(
        "--dmp-options",
        default=None,
        help='client role: extra `dmp-conformance serve` options, e.g. "--trust lps-ca.pem"',
    )
    group.addoption(
        "--lps-command",
        default=None,
        help="client role: command that makes the LPS under test run its scenario; it gets the DMP "
        "base URL in $DMP_CONFORMANCE_DMP_URL (default: wait for someone to operate the LPS)",
    )
    group.addoption(
        "--wait-timeout",
        default=None,
        help="client role: seconds to wait for each expected transaction from the LPS (default 60)",
    )
    group.addoption(
        "--documents-dir",
        default=None,
        help="documents role: folder of the CDA documents (and other artefacts) the SUT produced",
    )
    group.addoption(
        "--sut-patient",
        default=None,
        help="server role, external DMP: INS of a patient whose DMP exists, as a CX (NIR^^^&OID&ISO^NH)",
    )
    group.addoption(
        "--vihf-cert",
        default=None,
        help="server role, external DMP: certificate (PEM) of the VIHF signer the DMP trusts",
    )
    group.addoption("--vihf-key", default=None, help="server role, external DMP: its private key (PEM)")
    group.addoption(
        "--vihf-subject",
        default=None,
        help="server role, external DMP: idNat of the professional the VIHF names (authorized on the DMP)",
    )
    group.addoption("--identity-seed", default="0", help="seed of the synthetic patients and professionals")
    group.addoption(
        "--no-requirement-check",
        action="store_true",
        default=False,
        help="do not stop at collection on unknown requirement IDs (used by `requirements coverage`)",
    )


# ------------------------------------------------------------------------------------------------------------
# Settings of the system under test


@dataclass(slots=True)
class SutSettings:
    url: str | None = None
    role: str | None = None
    profile: str | None = None
    preset: str | None = None
    software_name: str | None = None
    software_version: str | None = None
    report_dir: str | None = None
    signing_key: str | None = None
    dmp_port: int = 0  # client role: where the bench's reference DMP listens (0: a free port)
    dmp_options: list[str] = field(default_factory=list)
    lps_command: str | None = None
    wait_timeout: float = 60.0
    documents_dir: str | None = None  # documents role: what the software under test produced
    # Server role against an external DMP: a patient with a DMP, and the VIHF signer and subject it trusts.
    sut_patient: str | None = None
    vihf_cert: str | None = None
    vihf_key: str | None = None
    vihf_subject: str | None = None


def load_preset(path: Path) -> dict[str, str]:
    """Read a preset; unknown keys and non-text values are usage errors with the file name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise pytest.UsageError(f"--sut-preset {path}: cannot read the preset ({exc})") from exc
    if not isinstance(data, dict):
        raise pytest.UsageError(f"--sut-preset {path}: expected a mapping of settings")
    unknown = sorted(set(data) - _PRESET_KEYS)
    if unknown:
        raise pytest.UsageError(
            f"--sut-preset {path}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_PRESET_KEYS))}"
        )
    if data.get("sut_role") not in (None, *ROLES):
        raise pytest.UsageError(f"--sut-preset {path}: sut_role must be one of {', '.join(ROLES)}")
    return {k: str(v) for k, v in data.items() if v is not None}


def _settings_from(config: pytest.Config) -> SutSettings:
    preset_path = config.getoption("--sut-preset")
    preset = load_preset(Path(preset_path)) if preset_path else {}

    def pick(option: str, key: str) -> str | None:
        value = config.getoption(option)
        return value if value is not None else preset.get(key)

    try:
        port, timeout = (
            int(pick("--dmp-port", "dmp_port") or 0),
            float(pick("--wait-timeout", "wait_timeout") or 60),
        )
    except ValueError as exc:
        raise pytest.UsageError(f"--dmp-port and --wait-timeout take numbers ({exc})") from exc
    return SutSettings(
        url=pick("--sut-url", "sut_url"),
        role=pick("--sut-role", "sut_role"),
        profile=pick("dmp_profile", "profile"),
        preset=preset_path,
        software_name=preset.get("software_name"),
        software_version=preset.get("software_version"),
        report_dir=pick("--report-dir", "report_dir"),
        signing_key=pick("--signing-key", "signing_key"),
        dmp_port=port,
        dmp_options=shlex.split(pick("--dmp-options", "dmp_options") or ""),
        lps_command=pick("--lps-command", "lps_command"),
        wait_timeout=timeout,
        documents_dir=pick("--documents-dir", "documents_dir"),
        sut_patient=pick("--sut-patient", "sut_patient"),
        vihf_cert=pick("--vihf-cert", "vihf_cert"),
        vihf_key=pick("--vihf-key", "vihf_key"),
        vihf_subject=pick("--vihf-subject", "vihf_subject"),
    )


# ------------------------------------------------------------------------------------------------------------
# Recording: per-test results, evidence and findings, then the run directory


@dataclass(slots=True)
class _TestRecord:
    nodeid: str
    name: str
    requirements: list[str]
    transactions: list[str]
    profiles: list[str]
    outcome: str | None = None
    duration: float = 0.0
    message: str | None = None
    details: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class RunRecorder:
    """What the session observed; turned into a :class:`conformance.reports.Run` at the end."""

    settings: SutSettings
    evidence_root: Path | None = None
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    run_id: str = field(default_factory=lambda: f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}")
    tests: dict[str, _TestRecord] = field(default_factory=dict)
    artefacts: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name → (sha256, version)
    embedded: bool = False
    fingerprint: str | None = None  # of the key that signed the run directory

    def record(self, nodeid: str) -> _TestRecord:
        return self.tests.setdefault(nodeid, _TestRecord(nodeid, nodeid.rpartition("::")[2], [], [], []))

    def add_artefact(self, name: str, path: Path, version: str | None = None) -> None:
        """Record an input the verdicts depend on, identified by the hash of its files (once per session)."""
        if name not in self.artefacts:
            from conformance.reports.manifest import hash_tree, sha256_file

            digest = hash_tree(path) if path.is_dir() else sha256_file(path)
            self.artefacts[name] = (digest, version)


_RECORDER = pytest.StashKey[RunRecorder]()


def recorder_of(config: pytest.Config) -> RunRecorder:
    return config.stash[_RECORDER]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): the requirement IDs this test verifies")
    settings = _settings_from(config)
    recorder = RunRecorder(settings)
    if settings.report_dir and not config.option.collectonly:
        run_dir = Path(settings.report_dir).resolve()
        if run_dir.exists() and any(run_dir.iterdir()):  # stale files would be signed as part of this run
            raise pytest.UsageError(f"--report-dir {run_dir} is not empty; give a new folder for each run")
        recorder.evidence_root = run_dir / "evidence"
        # allure-pytest configures after us: point its results into the run directory so they are signed too.
        if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
            config.option.allure_report_dir = str(run_dir / "allure-results")
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(_ResultListener(config), f"dmp-conformance-results-{id(config)}")


def _requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(str(a) for a in marker.args)
    return list(dict.fromkeys(ids))


def _allure_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "allure_report_dir", None))


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    marked = {item.nodeid: _requirement_ids(item) for item in items}
    empty = [item.nodeid for item in items if any(not m.args for m in item.iter_markers("requirement"))]
    if empty and not config.getoption("--no-requirement-check"):
        raise pytest.UsageError("requirement marker(s) without an ID: " + ", ".join(empty[:5]))
    if not any(marked.values()):
        return
    from conformance.requirements import load_catalogue

    recorder = recorder_of(config)
    # Test modules are imported by now, so the rules they use are registered: importing every other rule
    # module (a second or more) is only needed when an ID is not found, and for the report's complete matrix.
    catalogue = load_catalogue(with_rules=False).with_rules()
    if catalogue.unknown(i for ids in marked.values() for i in ids):
        catalogue = load_catalogue()
    for error in catalogue.load_errors:
        warnings.warn(
            pytest.PytestWarning(f"rules missing from the requirement catalogue: {error}"), stacklevel=1
        )
    unknown = {
        rid: [n for n, ids in marked.items() if rid in ids]
        for rid in catalogue.unknown(i for ids in marked.values() for i in ids)
    }
    if unknown and not config.getoption("--no-requirement-check"):
        lines = [
            f"  {rid}: {', '.join(nodes[:3])}{' …' if len(nodes) > 3 else ''}"
            for rid, nodes in unknown.items()
        ]
        raise pytest.UsageError(
            "requirement marker(s) name IDs missing from the requirement catalogue "
            "(profiles/requirements/*.yaml or a registered rule):\n" + "\n".join(lines)
        )
    profile = recorder.settings.profile
    kept, deselected = [], []
    for item in items:
        ids = [i for i in catalogue.expand(marked[item.nodeid]) if i in catalogue]
        requirements = [catalogue.get(i) for i in ids]
        transactions = list(dict.fromkeys(t for r in requirements for t in r.transactions))
        profiles = list(dict.fromkeys(p for r in requirements for p in r.profiles))
        record = recorder.record(item.nodeid)
        record.requirements, record.transactions, record.profiles = (
            marked[item.nodeid],
            transactions,
            profiles,
        )
        if profile and profiles and profile not in profiles:
            deselected.append(item)
            continue
        kept.append(item)
        if _allure_active(config):
            _allure_labels(item, marked[item.nodeid], transactions, profiles)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _allure_labels(item: pytest.Item, ids: list[str], transactions: list[str], profiles: list[str]) -> None:
    import allure

    for rid in ids:
        item.add_marker(allure.label("requirement", rid))
        # `--allure-link-pattern=requirement:https://…/{}` turns the ID into a URL.
        item.add_marker(allure.link(rid, link_type="requirement", name=rid))
    if profiles:
        item.add_marker(allure.epic(*profiles))
    if transactions:
        item.add_marker(allure.feature(*transactions))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    # A failure that carries findings (any exception with a .findings list) records them, unless the evidence
    # fixture already did (Evidence.assert_valid).
    if call.excinfo is not None and not getattr(call.excinfo.value, "recorded", False):
        findings = getattr(call.excinfo.value, "findings", None)
        if isinstance(findings, list) and all(isinstance(f, Finding) for f in findings):
            recorder_of(item.config).record(item.nodeid).findings.extend(f.to_dict() for f in findings)
    return report


class _ResultListener:
    """Per-session hooks that need the config (test reports do not carry it)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = recorder_of(self.config).record(report.nodeid)
        record.duration += report.duration
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.skipped:
                record.outcome = "skipped"
                record.message = _skip_reason(report)
            elif report.failed:
                record.outcome = "failed" if report.when == "call" else "error"
                record.message, record.details = _failure_text(report)
            else:
                record.outcome = "passed"
        elif report.when == "teardown" and report.failed and record.outcome in (None, "passed"):
            record.outcome = "error"
            record.message, record.details = _failure_text(report)


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"expected failure: {report.wasxfail}"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failure_text(report: pytest.TestReport) -> tuple[str, str]:
    """The first line of the failure (the assertion message, e.g. the expected and found values) and the full
    text."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    first = next((line for line in text.strip().splitlines() if line.strip()), "failed")
    return first[:500], report.longreprtext


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None or not recorder.settings.report_dir or config.option.collectonly:
        return
    recorder.fingerprint = write_run(recorder, Path(recorder.settings.report_dir).resolve())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is not None and recorder.fingerprint:  # the terminal summary comes after our sessionfinish
        terminalreporter.write_sep("-", "dmp-conformance run report")
        terminalreporter.write_line(f"run directory: {Path(str(recorder.settings.report_dir)).resolve()}")
        terminalreporter.write_line(f"manifest signed with Ed25519 key {recorder.fingerprint}")


def write_run(recorder: RunRecorder, run_dir: Path) -> str:
    """Build the run model from what was recorded and write the signed run directory; return the key
    fingerprint."""
    from conformance.reports import (
        Artefact,
        EvidenceRef,
        Outcome,
        Run,
        SutInfo,
        TestResult,
        requirement_verdicts,
    )
    from conformance.reports.manifest import hash_tree, load_private_key
    from conformance.reports.rundir import write_run_dir
    from conformance.requirements import default_directory, load_catalogue

    catalogue = load_catalogue()  # complete: every registered rule gets a verdict in the matrix
    tests = [
        TestResult(
            nodeid=r.nodeid,
            name=r.name,
            outcome=Outcome(r.outcome),
            duration=round(r.duration, 6),
            requirements=r.requirements,
            message=r.message,
            details=r.details,
            transactions=r.transactions,
            profiles=r.profiles,
            evidence=[EvidenceRef(**e) for e in r.evidence],
            findings=r.findings,
        )
        for r in recorder.tests.values()
        if r.outcome is not None
    ]
    settings = recorder.settings
    artefacts = [
        Artefact("requirement-catalogue", hash_tree(default_directory()), None),
        Artefact("rules", _rules_digest(), f"{len(rules)} rules"),
    ]
    artefacts += [
        Artefact(name, digest, version) for name, (digest, version) in sorted(recorder.artefacts.items())
    ]
    run = Run(
        run_id=recorder.run_id,
        started=recorder.started,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        bench_version=__version__,
        sut=SutInfo(
            url=settings.url,
            role=settings.role,
            profile=settings.profile,
            preset=settings.preset,
            software_name=settings.software_name,
            software_version=settings.software_version,
            embedded=recorder.embedded,
        ),
        tests=tests,
        requirements=requirement_verdicts(tests, catalogue),
        artefacts=artefacts,
    )
    key = load_private_key(Path(settings.signing_key)) if settings.signing_key else None
    return write_run_dir(run, run_dir, key)


def _rules_digest() -> str:
    lines = sorted(f"{r.id}|{r.kind}|{r.severity}|{r.requirement or ''}|{r.title}" for r in rules)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------------------
# Evidence


class FindingsFailure(AssertionError):
    """An assertion failure that carries the findings behind it; the plugin records them on the test."""

    def __init__(self, message: str, findings: list[Finding], recorded: bool = False) -> None:
        super().__init__(message)
        self.findings = findings
        self.recorded = recorded  # already on the test's record


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "item"


class Evidence:
    """Files and findings attached to the current test; written under ``evidence/`` of the run directory."""

    def __init__(self, record: _TestRecord, root: Path, allure_on: bool) -> None:
        self._record = record
        self._root = root
        self._allure = allure_on

    def attach(self, name: str, content: bytes | str, mime: str = "text/plain") -> Path:
        data = content.encode("utf-8") if isinstance(content, str) else content
        folder = self._root / _safe_name(self._record.nodeid)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _safe_name(name)
        for index in range(2, 1000):  # never overwrite an earlier attachment of the same name
            if not path.exists():
                break
            path = folder / f"{index}-{_safe_name(name)}"
        path.write_bytes(data)
        self._record.evidence.append(
            {
                "name": name,
                "path": f"evidence/{path.parent.name}/{path.name}",
                "mime": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        )
        if self._allure:
            import allure
            from allure_commons.types import AttachmentType

            kind = next((t for t in AttachmentType if t.mime_type == mime), None)
            allure.attach(data, name=name, attachment_type=kind)
        return path

    def findings(self, source: ArtefactResult | Iterable[Finding]) -> list[Finding]:
        """Record the findings of a validation on this test (and as a JSON attachment); returns them."""
        found = list(source.findings if isinstance(source, ArtefactResult) else source)
        self._record.findings.extend(f.to_dict() for f in found)
        if found:
            self.attach(
                "findings.json",
                json.dumps([f.to_dict() for f in found], indent=2, ensure_ascii=False),
                "application/json",
            )
        return found

    def assert_valid(self, result: ArtefactResult, what: str | None = None) -> None:
        """Record the findings, then fail with the errors (rule, message, location, hint) if there are any."""
        found = self.findings(result)
        errors = [f for f in found if f.is_error]
        if errors:
            lines = [
                f"[{f.rule}] {f.message}"
                + (f" at {f.location}" if f.location else "")
                + (f" (line {f.line})" if f.line else "")
                + (f" — {f.hint}" if f.hint else "")
                for f in errors
            ]
            raise FindingsFailure(
                f"{what or result.path}: {len(errors)} error(s)\n" + "\n".join(lines), errors, recorded=True
            )


@pytest.fixture
def evidence(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Evidence:
    """Attach evidence to the current test: ``evidence.attach(name, content, mime)``,
    ``evidence.findings(result)``."""
    recorder = recorder_of(request.config)
    if recorder.evidence_root is None:
        recorder.evidence_root = tmp_path_factory.mktemp("evidence")
    return Evidence(
        recorder.record(request.node.nodeid), recorder.evidence_root, _allure_active(request.config)
    )


# ------------------------------------------------------------------------------------------------------------
# The system under test


@pytest.fixture(scope="session")
def sut_settings(pytestconfig: pytest.Config) -> SutSettings:
    """The SUT settings from the command line and the preset."""
    return recorder_of(pytestconfig).settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reference_dmp_available() -> bool:
    """The reference DMP and its ``serve`` command are installed."""
    return all(_module_exists(m) for m in ("conformance.server", "conformance.cli.serve"))


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


@contextlib.contextmanager
def embedded_dmp(
    db_path: Path, extra_args: Iterable[str] = (), port: int = 0, timeout: float = _SERVER_START_TIMEOUT
) -> Iterator[str]:
    """Run ``dmp-conformance serve`` in a subprocess on a loopback port (a free one when 0); yield its base
    URL once /health answers."""
    import httpx

    port = port or free_port()
    log_path = db_path.with_suffix(".log")
    command = [
        sys.executable,
        "-c",
        "from conformance.cli import app; app()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{db_path}",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the reference DMP exited with code {process.returncode}: "
                    f"{log_path.read_text(errors='replace')[-2000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the reference DMP did not answer {url}/health within {timeout:.0f} s: "
                    f"{log_path.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def embedded_dmp_args() -> list[str]:
    """Extra ``dmp-conformance serve`` options for the embedded reference DMP (suites override it: trust,
    admin…)."""
    return []


@pytest.fixture(scope="session")
def sut_url(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory, embedded_dmp_args: list[str]
) -> Iterator[str]:
    """Base URL of the SUT: ``--sut-url``, or the embedded reference DMP (temporary SQLite database)."""
    recorder = recorder_of(pytestconfig)
    if recorder.settings.url:
        yield recorder.settings.url.rstrip("/")
        return
    if not reference_dmp_available():
        pytest.skip(
            "reference DMP not available (conformance.server / the serve command are not installed); "
            "pass --sut-url"
        )
    with embedded_dmp(tmp_path_factory.mktemp("reference-dmp") / "dmp.sqlite",
                      [*embedded_dmp_args, *_annex_args(pytestconfig, embedded_dmp_args)]) as url:
        recorder.embedded = True
        recorder.settings.url = url
        yield url


def _annex_args(config: pytest.Config, args: list[str]) -> list[str]:
    """Let the embedded DMP check captured SOAP bodies against the official annex XSDs when they are here."""
    official = official_dir_from(config)
    annex = official / "dmp-lps-package" if official else None
    if "--dmp-lps-package" in args or annex is None or not annex.is_dir():
        return []
    record_package(config, "dmp-lps-package", annex)
    return ["--dmp-lps-package", str(annex)]


@pytest.fixture(scope="session")
def sut_embedded(pytestconfig: pytest.Config, sut_url: str) -> bool:
    """True when the SUT is the bench's own reference DMP (its admin API may then seed data)."""
    return recorder_of(pytestconfig).embedded


# ------------------------------------------------------------------------------------------------------------
# Synthetic identities (test INS, RPPS, FINESS that agree with their traits)


@pytest.fixture(scope="session")
def synthetic_identities(pytestconfig: pytest.Config) -> Any:
    """A seeded :class:`conformance.identity.synthetic.SyntheticIdentities` (``--identity-seed``, default
    0)."""
    if not _module_exists("conformance.identity.synthetic"):
        pytest.skip("synthetic identities not available (conformance.identity.synthetic)")
    from conformance.identity.synthetic import SyntheticIdentities

    return SyntheticIdentities(seed=int(pytestconfig.getoption("--identity-seed")))


@pytest.fixture
def synthetic_patient(synthetic_identities: Any) -> Any:
    """A new patient with a test INS-NIR matching its sex, birth date and birth place."""
    return synthetic_identities.patient()


@pytest.fixture
def synthetic_professional(synthetic_identities: Any) -> Any:
    """A new professional (idNat 8 + RPPS with a valid key)."""
    return synthetic_identities.professional()


@pytest.fixture
def synthetic_structure(synthetic_identities: Any) -> Any:
    """A new structure (idNat 1 + FINESS with a valid key)."""
    return synthetic_identities.structure()


# ------------------------------------------------------------------------------------------------------------
# Official artefacts


def official_dir_from(config: pytest.Config) -> Path | None:
    """The official artefacts folder, or None when it is not available."""
    candidates = [
        config.getoption("--official-dir"),
        os.environ.get(OFFICIAL_ENV),
        str(Path(str(config.rootpath)).parent / "shared" / "official"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def official_dir(pytestconfig: pytest.Config) -> Path:
    """The official artefacts (``ans-testcontenucda``, ``dmp-lps-package``, ``fhir``); skips when absent."""
    found = official_dir_from(pytestconfig)
    if found is None:
        pytest.skip(
            "official artefacts not found: pass --official-dir or set DMP_CONFORMANCE_OFFICIAL "
            "(CI uses ../shared/official)"
        )
    return found


def _official_package(config: pytest.Config, official: Path, name: str, label: str) -> Path:
    path = official / name
    if not path.is_dir():
        pytest.skip(f"{label} not found under {official}")
    record_package(config, name, path)
    return path


def record_package(config: pytest.Config, name: str, path: Path) -> None:
    """Name an official package the verdicts came from (version and hash) in the run report."""
    recorder = recorder_of(config)
    if recorder.settings.report_dir:
        recorder.add_artefact(name, path, _package_version(path))


def _package_version(path: Path) -> str | None:
    """The version the artefacts importer reads from the package (git commit, archive name, readme)."""
    if not _module_exists("conformance.artefacts.layout"):
        return None
    from conformance.artefacts.errors import PackageError
    from conformance.artefacts.layout import find_package

    try:
        return find_package(path).version
    except (PackageError, OSError):
        return None


@pytest.fixture(scope="session")
def cisis_package(pytestconfig: pytest.Config, official_dir: Path) -> Path:
    """The ANS CI-SIS TestContenuCDA package folder."""
    return _official_package(pytestconfig, official_dir, "ans-testcontenucda", "CI-SIS package")


@pytest.fixture(scope="session")
def dmp_lps_package(pytestconfig: pytest.Config, official_dir: Path) -> Path:
    """The DMP LPS package (WSDL/XSD annex and official example messages)."""
    return _official_package(pytestconfig, official_dir, "dmp-lps-package", "DMP LPS package")


@pytest.fixture(scope="session")
def golden_dir(pytestconfig: pytest.Config) -> Path:
    """Ground truth of the official pipeline (../shared/golden/cisis-verdicts)."""
    env = os.environ.get("DMP_CONFORMANCE_GOLDEN")
    path = (
        Path(env) if env else Path(str(pytestconfig.rootpath)).parent / "shared" / "golden" / "cisis-verdicts"
    )
    if not path.is_dir():
        pytest.skip("golden verdicts not found (../shared/golden/cisis-verdicts or $DMP_CONFORMANCE_GOLDEN)")
    return path.resolve()


# ------------------------------------------------------------------------------------------------------------
# Collecting markers without running tests (the `requirements coverage` command)


class MarkerCollector:
    """A plugin object for ``pytest.main(["--collect-only", ...], plugins=[collector])``: node id →
    requirement IDs."""

    def __init__(self) -> None:
        self.markers: dict[str, list[str]] = {}
        self.errors: list[str] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.markers = {item.nodeid: _requirement_ids(item) for item in items}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            last = (report.longreprtext.strip().splitlines() or ["collection failed"])[-1]
            self.errors.append(f"{report.nodeid or '(session)'}: {last}")


def collect_requirement_markers(
    paths: Iterable[Path], extra_args: Iterable[str] = ()
) -> tuple[MarkerCollector, int]:
    """Collect the tests under ``paths`` in-process and return their requirement markers and pytest's exit
    code."""
    collector = MarkerCollector()
    args = [
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-requirement-check",
        *extra_args,
        *(str(p) for p in paths),
    ]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        code = pytest.main(args, plugins=[collector])
    return collector, int(code)
