"""Bounded, reproducible fuzzing of every parser that reads untrusted bytes.

Each :class:`Target` feeds one input (bytes and an HTTP content type) to a real component: the SOAP/MTOM
parser, the XDS metadata parser, the VIHF verifier, the CDA and FHIR validators, the server's SOAP dispatch.
Inputs are hypothesis-drawn mutations of seed messages (bit flips, truncation, duplicated and deleted slices,
hostile tokens, boundary and content-type corruption) and grammar-ish random XML. A target may only answer
with its typed errors or findings: any other exception, a server 500 or an input slower than the bound is a
:class:`FuzzFailure`. Typical use::

    stats = run_target(targets()["soap-mtom"], builtin_seeds(), max_inputs=2000, seconds=20)
    assert not stats.failures

``python -m conformance.fuzz --seconds 600`` runs every target with a longer budget.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from conformance.fuzz.seeds import Seed, builtin_seeds, official_seeds
from conformance.fuzz.strategies import batches

__all__ = [
    "FuzzFailure",
    "FuzzStats",
    "Seed",
    "Target",
    "batches",
    "builtin_seeds",
    "official_seeds",
    "run_target",
    "targets",
]

MAX_SECONDS_PER_INPUT = 5.0  # generous: the slowest target (CDA validation) takes milliseconds per input
_BATCH = 30  # seed mutations per hypothesis example
_CHUNK = 10  # hypothesis examples per run: the budget is checked between runs


class ServerError(Exception):
    """The server answered 500 (a defect of ours) to a fuzzed request."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    run: Callable[[bytes, str | None], object]
    allowed: tuple[type[BaseException], ...] = ()  # the typed errors the component documents


@dataclass(slots=True)
class FuzzFailure:
    target: str
    data: bytes
    content_type: str | None
    error: str  # the traceback, or why the input was too slow


@dataclass(slots=True)
class FuzzStats:
    target: str
    inputs: int = 0
    typed_errors: int = 0  # inputs refused with a documented error (the others were read)
    seconds: float = 0.0
    slowest: float = 0.0
    failures: list[FuzzFailure] = field(default_factory=list)


def run_target(
    target: Target,
    seeds: Sequence[Seed],
    *,
    max_inputs: int,
    seconds: float,
    max_seconds_per_input: float = MAX_SECONDS_PER_INPUT,
    seed: int = 0,
) -> FuzzStats:
    """Run ``target`` on up to ``max_inputs`` inputs or for ``seconds``, whichever comes first (never shrinks:
    failing inputs are kept as found)."""
    stats = FuzzStats(target.name)
    started = time.monotonic()
    strategy = batches(seeds, _BATCH)

    def one(data: bytes, content_type: str | None) -> None:
        begun = time.monotonic()
        try:
            target.run(data, content_type)
        except target.allowed:
            stats.typed_errors += 1
        except Exception:
            stats.failures.append(FuzzFailure(target.name, data, content_type, traceback.format_exc()))
        elapsed = time.monotonic() - begun
        stats.slowest = max(stats.slowest, elapsed)
        if elapsed > max_seconds_per_input:
            stats.failures.append(FuzzFailure(target.name, data, content_type, f"took {elapsed:.1f} s"))
        stats.inputs += 1

    def batch(cases: list[tuple[bytes, str | None]]) -> None:
        for data, content_type in cases:
            if stats.inputs < max_inputs:
                one(data, content_type)

    run = 0
    while stats.inputs < max_inputs and time.monotonic() - started < seconds:
        # one hypothesis seed per chunk: reproducible, and each chunk draws new inputs
        check = hypothesis_seed(seed * 1_000_003 + run)(
            settings(
                max_examples=_CHUNK,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(strategy)(batch))
        )
        check()
        run += 1
    stats.seconds = time.monotonic() - started
    return stats


@cache
def targets() -> dict[str, Target]:
    """Every fuzz target by name (components imported here: the fuzz layer sits above all of them)."""
    from conformance.server.routing import handle_soap
    from conformance.server.settings import ServerSettings
    from conformance.soap import SoapError, parse_message
    from conformance.store import Store
    from conformance.validation import ValidationContext, validate_bytes
    from conformance.vihf import VihfPolicy, verify_vihf
    from conformance.xds import XdsParseError, parse_body

    store = Store.open("sqlite://")
    server_settings = ServerSettings(lenient_signatures=True, validate_requests=False, max_body_bytes=1 << 20)
    vihf_policy = VihfPolicy(lenient=True)
    cda_context = ValidationContext(options={"schematron": False})

    def xds(data: bytes, content_type: str | None) -> object:
        return parse_body(parse_message(data, content_type, lenient=True))

    def server(data: bytes, content_type: str | None) -> object:
        outcome = handle_soap(data, content_type, server_settings, store)
        if outcome.status >= 500:
            raise ServerError(f"HTTP {outcome.status}: {outcome.body[:500]!r}")
        return outcome

    return {
        "soap-mtom": Target("soap-mtom", lambda d, c: parse_message(d, c), (SoapError,)),
        "soap-mtom-lenient": Target(
            "soap-mtom-lenient", lambda d, c: parse_message(d, c, lenient=True), (SoapError,)
        ),
        "xds-metadata": Target("xds-metadata", xds, (SoapError, XdsParseError)),
        "vihf": Target("vihf", lambda d, _c: verify_vihf(d, vihf_policy)),
        "cda": Target("cda", lambda d, _c: validate_bytes(d, "fuzz.xml", cda_context, kind="cda")),
        "fhir": Target(
            "fhir", lambda d, _c: validate_bytes(d, "fuzz.json", ValidationContext(), kind="fhir")
        ),
        "server": Target("server", server),
    }


def seeds_for(official: Path | None = None) -> list[Seed]:
    """The built-in seeds, and the official example messages when their folder is given."""
    return [*builtin_seeds(), *(official_seeds(official) if official else [])]
