"""VIHF assertions in every authentication mode, for synthetic professionals and patients."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.identity.strategies import patients, professionals, structures
from conformance.pki import CertifiedKey
from conformance.vihf import AuthMode, Vihf, new_vihf


def vihfs(signer: CertifiedKey | None = None, modes: st.SearchStrategy[AuthMode] | None = None
          ) -> st.SearchStrategy[Vihf]:
    """A VIHF 3.0 (not yet signed: sign it with ``sign_vihf(vihf, signer)``) whose Issuer is ``signer``'s DN,
    naming a synthetic professional of a synthetic structure and a synthetic patient's INS."""
    return st.builds(lambda mode, person, structure, patient: new_vihf(
        mode, signer=signer, patient=patient.ins, subject_id=person.idnat, structure_id=structure.idnat),
        modes if modes is not None else st.sampled_from(list(AuthMode)), professionals(), structures(), patients())
