"""Settings of the reference DMP server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from conformance.artefacts import InstalledPackage, resolve_package
from conformance.vihf import ReplayCache

DMP_OID = "1.2.250.1.213.4.1.1.1"  # the DMP device / custodian in HL7 v3 messages
REPOSITORY_ID = "1.2.250.1.213.4.1.1.1.2"  # repositoryUniqueId of the official examples


@dataclass(slots=True)
class ServerSettings:
    """How the reference DMP behaves. Secure defaults: strict signatures, no admin API, bounded bodies."""

    db_url: str = "sqlite://"  # in memory: use a file URL to keep data between runs
    trust: Sequence[x509.Certificate] = ()  # CA certificates accepted for VIHF signatures
    lenient_signatures: bool = False  # accept unsigned / untrusted VIHF and record a finding instead
    # one-time VIHF: give a ReplayCache to refuse a second use of an assertion ID within its window. Off by
    # default: the DMP documents no one-time use and LPS commonly reuse a VIHF for a session
    replay_cache: ReplayCache | None = None
    lenient_mime: bool = True  # accept legacy MTOM captures (LF line endings, no boundary header)
    admin_enabled: bool = False  # /admin/* seed and reset endpoints
    validate_requests: bool = True  # run the transport validators on each captured request (after responding)
    # the official packages of that validation: the cache of imported packages (None: the default one) and a DMP
    # LPS package folder (annex XSDs of the SOAP bodies) to use instead of the cache's most recent import
    profiles_dir: Path | None = None
    dmp_lps_package: Path | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    body_timeout_seconds: float = 60.0  # whole body must arrive within this (slow clients → 408)
    header_timeout_seconds: float = 10.0  # each request head must arrive within this (slow-loris → 408 / close)
    repository_id: str = REPOSITORY_ID
    dmp_oid: str = DMP_OID
    # ITI-41 must carry a signature DocumentEntry with a ``signs`` association to the SubmissionSet (P4D td2)
    require_signature_document: bool = True
    max_query_results: int = 1000  # above: XDSTooManyResults
    # TD0.5 only in régulation or indirect mode (FI526); the 2019 official example was a direct-mode success
    pdq_regulation_only: bool = True
    break_glass_codes: frozenset[str] = field(default_factory=lambda: frozenset({"bris_de_glace", "urgence"}))
    regulation_codes: frozenset[str] = field(default_factory=lambda: frozenset({"centre_15", "regulation"}))
    faults: frozenset[str] = frozenset()  # fault-injected variant (conformance.server.faults), serve only

    def lps_package(self) -> InstalledPackage | None:
        """The DMP LPS package whose annex XSDs check the captured SOAP bodies, None when there is none.

        Raises :class:`~conformance.artefacts.PackageError` when ``dmp_lps_package`` is not such a package.
        """
        return resolve_package("dmp-lps", self.profiles_dir, explicit=self.dmp_lps_package)
