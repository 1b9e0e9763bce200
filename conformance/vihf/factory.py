"""A valid VIHF with sensible defaults, for clients of the bench and for tests."""

from __future__ import annotations

import datetime as dt

from conformance.identity import INS_NIR_TEST_OID, Ins
from conformance.pki import CertifiedKey, TestPki
from conformance.vihf.model import (
    PURPOSE_NORMAL,
    ROLE_GENERAL_PRACTICE,
    ROLE_MEDECIN,
    AuthMode,
    CodedValue,
    Vihf,
    utc_now_ms,
)

# The patient of the official examples (test NIR OID); its key is valid
DEFAULT_PATIENT = Ins("207058575627097", INS_NIR_TEST_OID)


def new_vihf(mode: AuthMode = AuthMode.INDIRECTE, *, signer: CertifiedKey | None = None,
             patient: Ins | str = DEFAULT_PATIENT, subject_id: str = TestPki.PS_ID_NAT,
             structure_id: str = TestPki.STRUCTURE_ID, roles: list[CodedValue] | None = None,
             purpose: CodedValue = PURPOSE_NORMAL, issue_instant: dt.datetime | None = None,
             lps_homologation: str = "BENCH-LPS-0001", **fields: object) -> Vihf:
    """A VIHF 3.0 in ``mode`` whose Issuer is ``signer``'s DN (sign it with :func:`sign_vihf` and that signer).

    ``patient`` is an :class:`~conformance.identity.Ins` or a ready CX; other model fields go in ``fields``.
    """
    vihf = Vihf(
        subject_id=subject_id,
        structure_id=structure_id,
        secteur_activite="SA07^1.2.250.1.71.4.2.4",
        roles=list(roles) if roles is not None else [ROLE_MEDECIN, ROLE_GENERAL_PRACTICE],
        auth_mode=mode.value,
        resource_id=patient.cx() if isinstance(patient, Ins) else patient,
        purpose_of_use=purpose,
        lps_nom="DMP CONFORMANCE BENCH",
        lps_version="1.0",
        lps_homologation=lps_homologation,
        lps_id="1.2.250.1.999.1",
        issuer=signer.subject_dn if signer else None,
        issue_instant=issue_instant or utc_now_ms(),
        subject_name="TEST Utilisateur" if mode is not AuthMode.DIRECTE else None,
        authn_context_decl="APP_BROWSER_AUTH" if mode is AuthMode.INDIRECTE_RENFORCEE else None,
    )
    for name, value in fields.items():
        if not hasattr(vihf, name):
            raise TypeError(f"Vihf has no field {name!r}")
        setattr(vihf, name, value)
    return vihf
