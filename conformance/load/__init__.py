"""Load testing of a DMP: locust runs as a subprocess (never imported here: it monkey-patches at import), its CSV
statistics become ``load.json`` (per transaction: requests, failures, rps, p50/p95/p99), checked against SLOs."""

from conformance.load.results import LoadResult, TransactionStats, read_locust_csv
from conformance.load.slo import Slo, SloViolation, check_slo, load_slo

__all__ = ["LoadResult", "Slo", "SloViolation", "TransactionStats", "check_slo", "load_slo", "read_locust_csv"]
