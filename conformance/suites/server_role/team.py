"""Several professionals and patients on the DMP under test, for scenarios that need more than the bench's own LPS.

The embedded reference DMP is seeded through its admin API; an external DMP would need its operator to provide
them, so :meth:`Team.on` skips there with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import httpx
import pytest

from conformance.generate.xds import DocumentSpec, SubmissionSpec, build_submission
from conformance.xds import Status

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
ALL_STATUSES = (Status.APPROVED, Status.DEPRECATED, Status.ARCHIVED, Status.DELETED)
OTHER_PS = ("810000000002", "810000000003", "810000000004")  # test RPPS-like idNat of further professionals


@dataclass(slots=True)
class Team:
    """The bench's professional (``author``), further professionals and a way to seed patients."""

    url: str
    identity: Any  # server_role.conftest.LpsIdentity
    people: Any  # conformance.identity.synthetic.SyntheticIdentities
    seeded: set[str] = field(default_factory=set)

    @classmethod
    def on(cls, url: str, embedded: bool, identity: Any, people: Any) -> Team:
        if not embedded:
            pytest.skip("needs several professionals and patients: seeded through the embedded DMP's admin API")
        return cls(url, identity, people)

    @property
    def author(self) -> str:
        return str(self.identity.subject_id)

    def _admin(self, path: str, body: dict[str, Any]) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0) as admin:
            admin.post(path, json=body).raise_for_status()

    def patient(self, authorized: Sequence[str] = (), revoked: Sequence[str] = ()) -> Any:
        """A new patient whose DMP authorizes the bench's professional, ``authorized`` and revokes ``revoked``."""
        for id_nat in {self.author, *authorized, *revoked} - self.seeded:
            self._admin("/admin/professionals", {"id_nat": id_nat, "family_name": "TEST", "given_name": id_nat,
                                                 "role_code": "10"})
            self.seeded.add(id_nat)
        person = self.people.patient()
        grants = [{"professional": p, "attending": p == self.author} for p in dict.fromkeys([self.author, *authorized])]
        grants += [{"professional": p, "status": "revoked"} for p in revoked]
        self._admin("/admin/patients", {
            "ins": person.ins.value, "ins_oid": person.ins.oid, "family_name": person.birth_family_name,
            "given_name": person.first_given_name, "birth_date": person.birth_date.strftime("%Y%m%d"),
            "gender": person.sex, "authorizations": grants})
        return person.ins

    @contextmanager
    def client(self, subject_id: str | None = None, *, signed: bool = True, **fields: Any) -> Iterator[Any]:
        """A DMP client whose VIHF names ``subject_id`` (the bench's professional by default)."""
        from conformance.client import DmpClient, signed_vihf_factory
        from conformance.vihf import AuthMode

        fields.setdefault("mode", AuthMode.DIRECTE)
        factory = signed_vihf_factory(self.identity.signer if signed else None,
                                      subject_id=subject_id or self.author,
                                      structure_id=self.identity.structure_id, **fields)
        with DmpClient(self.url, factory) as client:
            yield client

    def spec(self, patient: Any, content: bytes, *, masked: bool = False, **fields: Any) -> SubmissionSpec:
        return SubmissionSpec(patient, DocumentSpec(content, masked=masked), self.author, self.identity.structure_id,
                              **fields)

    def feed(self, spec: SubmissionSpec, client: Any = None) -> Any:
        """TD2.1 of ``spec``: the RegistryResponse (as the bench's professional unless ``client`` is given)."""
        request = build_submission(spec, self.identity.xades_signer())
        if client is not None:
            return client.feed(request, spec.patient).xds()
        with self.client() as own:
            return own.feed(request, spec.patient).xds()


def find(client: Any, patient: Any, statuses: Sequence[str] = (Status.APPROVED,)) -> dict[str, Any]:
    """FindDocuments: the DocumentEntries by uniqueId (signature entries included, as the DMP answers them)."""
    response = client.find_documents(patient, statuses=statuses)
    answer = response.xds() if response.fault is None and response.message is not None else None
    assert answer is not None and hasattr(answer, "objects"), f"FindDocuments got no query response: " \
        f"HTTP {response.status_code} {response.fault.reason if response.fault else response.error}"
    return {e.unique_id: e for e in answer.objects.document_entries}


def assert_replacement_chain(team: Team, patient: Any, specs: Sequence[SubmissionSpec]) -> None:
    """Feed ``specs[0]``, then each next spec as the replacement (RPLC) of the previous one: afterwards only the
    last version is Approved and every replaced one is Deprecated."""
    assert team.feed(specs[0]).success
    with team.client() as client:
        for previous, new in pairwise(specs):
            target = find(client, patient)[previous.unique_id].id
            registry = team.feed(replace(new, replaces=target), client)
            assert registry.success, f"replacement refused: {error_codes(registry)}"
        approved = find(client, patient)
        deprecated = find(client, patient, (Status.DEPRECATED,))
    versions = [s.unique_id for s in specs]
    assert [u for u in versions if u in approved] == versions[-1:], \
        f"Approved versions after {len(versions) - 1} replacement(s): {[u for u in versions if u in approved]}"
    assert set(versions[:-1]) <= set(deprecated), "a replaced version is not Deprecated"


def error_codes(registry: Any) -> list[str]:
    return [e.error_code for e in getattr(registry, "errors", None) or []]


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()
