"""locust's CSV statistics as a small model, written as ``load.json``."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

AGGREGATED = "Aggregated"


@dataclass(frozen=True, slots=True)
class TransactionStats:
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(slots=True)
class LoadResult:
    """One run: per-transaction statistics, the aggregate and the time series (for the chart)."""

    users: int
    duration_s: float
    workers: int
    sut_url: str
    transactions: list[TransactionStats]
    total: TransactionStats
    history: list[dict[str, float]] = field(default_factory=list)  # t (s), users, rps, p95_ms
    slo_violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total"]["error_rate"] = self.total.error_rate
        return data

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> LoadResult:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["total"].pop("error_rate", None)
        return cls(**{**data, "transactions": [TransactionStats(**t) for t in data["transactions"]],
                      "total": TransactionStats(**data["total"])})


def _number(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0


def _stats(row: dict[str, str]) -> TransactionStats:
    return TransactionStats(name=row["Name"], requests=int(_number(row["Request Count"])),
                            failures=int(_number(row["Failure Count"])), rps=round(_number(row["Requests/s"]), 3),
                            p50_ms=_number(row["50%"]), p95_ms=_number(row["95%"]), p99_ms=_number(row["99%"]))


def read_locust_csv(prefix: Path) -> tuple[list[TransactionStats], TransactionStats, list[dict[str, float]]]:
    """``<prefix>_stats.csv`` (per request name and aggregated) and ``<prefix>_stats_history.csv``."""
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    transactions = sorted((_stats(r) for r in rows if r["Name"] != AGGREGATED), key=lambda s: s.name)
    aggregated = next((_stats(r) for r in rows if r["Name"] == AGGREGATED), None) or \
        TransactionStats(AGGREGATED, 0, 0, 0.0, 0.0, 0.0, 0.0)
    history: list[dict[str, float]] = []
    history_file = Path(f"{prefix}_stats_history.csv")
    if history_file.exists():
        with history_file.open(encoding="utf-8", newline="") as handle:
            points = [r for r in csv.DictReader(handle) if r.get("Name") == AGGREGATED]
        if points:
            start = _number(points[0]["Timestamp"])
            history = [{"t": _number(p["Timestamp"]) - start, "users": _number(p["User Count"]),
                        "rps": _number(p["Requests/s"]), "p95_ms": _number(p["95%"])} for p in points]
    return transactions, aggregated, history
