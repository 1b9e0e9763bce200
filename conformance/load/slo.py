"""Service-level objectives of a load run: p95 per transaction, error rate, throughput."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from conformance.load.results import LoadResult
from conformance.resources import profiles_path

DEFAULT_SLO = profiles_path("load", "slo.yaml")


class SloError(ValueError):
    """The SLO file is unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class Slo:
    error_rate: float | None = None  # maximum failed / all
    min_rps: float | None = None  # minimum aggregated throughput
    p95_ms: dict[str, float] = field(default_factory=dict)  # per transaction name


@dataclass(frozen=True, slots=True)
class SloViolation:
    objective: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.objective}: expected {self.expected}, found {self.found}"


def load_slo(path: Path | None = None) -> Slo:
    path = path or DEFAULT_SLO
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SloError(f"cannot read the SLO file {path}: {exc}") from exc
    if not isinstance(data, dict) or not set(data) <= {"error_rate", "min_rps", "p95_ms"}:
        raise SloError(f"{path}: expected a mapping with error_rate, min_rps and p95_ms (per transaction)")
    try:
        return Slo(error_rate=None if data.get("error_rate") is None else float(data["error_rate"]),
                   min_rps=None if data.get("min_rps") is None else float(data["min_rps"]),
                   p95_ms={str(k): float(v) for k, v in (data.get("p95_ms") or {}).items()})
    except (TypeError, ValueError, AttributeError) as exc:
        raise SloError(f"{path}: {exc}") from exc


def check_slo(result: LoadResult, slo: Slo) -> list[SloViolation]:
    """Every objective the run missed; a transaction named in the SLO but never run is a violation too."""
    violations: list[SloViolation] = []
    if slo.error_rate is not None and result.total.error_rate > slo.error_rate:
        violations.append(SloViolation("error rate", f"≤ {slo.error_rate:.2%}",
                                       f"{result.total.error_rate:.2%} ({result.total.failures} failures)"))
    if slo.min_rps is not None and result.total.rps < slo.min_rps:
        violations.append(SloViolation("throughput", f"≥ {slo.min_rps} req/s", f"{result.total.rps} req/s"))
    by_name = {t.name: t for t in result.transactions}
    for name, limit in sorted(slo.p95_ms.items()):
        stats = by_name.get(name)
        if stats is None or stats.requests == 0:
            violations.append(SloViolation(f"{name} p95", f"≤ {limit:g} ms", "no request"))
        elif stats.p95_ms > limit:
            violations.append(SloViolation(f"{name} p95", f"≤ {limit:g} ms", f"{stats.p95_ms:g} ms"))
    return violations
