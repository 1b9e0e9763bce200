"""Masking and authorizations never leak a document: random sequences of feed / mask / unmask / authorize /
revoke / query by several professionals, checked against a model of what each one must see (normal mode).

The second machine adds the same steps through the FHIR PDSm API (ITI-65 feed, securityLabel PATCH, ITI-67
search) and reads by id (DocumentReference, ITI-68) to the SOAP ones, so that a sequence mixes both APIs on one
DMP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from conformance.generate.fhir import provide_bundle, unique_id_of
from conformance.generate.xds import MASQUE_PS, NORMAL, DocumentSpec, SubmissionSpec
from conformance.suites.properties.conftest import live_examples
from conformance.suites.properties.fhir import FhirDmp, documents, provide, search, set_mask
from conformance.suites.server_role.team import OTHER_PS, SUCCESS, Team, error_codes, find

Note = Callable[[str], None]


@dataclass(slots=True)
class ModelDocument:
    unique_id: str
    author: str
    masked: bool
    urls: tuple[str, str] | None = None  # FHIR: the DocumentReference and its attachment, once learnt


def _people(team: Team) -> list[str]:
    """Who acts: the bench's professional (attending) and two more professionals."""
    return [team.author, *OTHER_PS[:2]]


def visibility_machine(team: Team, note: Note) -> type[RuleBasedStateMachine]:
    """A state machine class bound to ``team``; each run uses a new patient (its DMP starts empty)."""
    people = _people(team)

    class Visibility(RuleBasedStateMachine):
        documents = Bundle("documents")

        @initialize()
        def new_patient(self) -> None:
            self.patient = team.patient(authorized=people[1:])
            self.granted = dict.fromkeys(people, True)
            self.model: dict[str, ModelDocument] = {}
            self.steps: list[str] = []

        def _log(self, step: str) -> None:
            self.steps.append(step)
            note("\n".join(self.steps))

        def _new_document(self, who: str, masked: bool) -> SubmissionSpec:
            return replace(team.spec(self.patient, b"", masked=masked), author_id=who,
                           document=DocumentSpec(f"<doc n='{len(self.model)}'/>".encode(), masked=masked))

        def _fed(self, spec: SubmissionSpec, accepted: bool, answer: str) -> str:
            """The model after a feed the DMP answered (``answer`` says how, for the failure message)."""
            who = spec.author_id
            if self.granted[who]:
                assert accepted, f"feed by authorized {who} refused: {answer}"
                self.model[spec.unique_id] = ModelDocument(spec.unique_id, who, spec.document.masked)
            else:
                assert not accepted, f"feed by {who} accepted although the authorization was revoked"
            return spec.unique_id

        def _maskable(self, unique_id: str, masked: bool, api: str) -> ModelDocument | None:
            """The document its author may mask or unmask now (logged), else None."""
            document = self.model.get(unique_id)
            if document is None or not self.granted[document.author]:
                return None
            self._log(f"{'mask' if masked else 'unmask'} {unique_id} by {document.author} ({api})")
            return document

        def _saw(self, who: str, seen: set[str] | None) -> None:
            """A query by ``who`` answered ``seen`` (None: refused) against the model."""
            if not self.granted[who]:
                assert seen is None, f"{who} (revoked) searched the DMP: {seen}"
                return
            seen = seen or set()
            expected = {d.unique_id for d in self.model.values() if not d.masked or d.author == who}
            leaked = (seen & set(self.model)) - expected
            missing = expected - seen
            assert not leaked, f"{who} sees documents it must not: {sorted(leaked)}"
            assert not missing, f"{who} does not see documents it may: {sorted(missing)}"

        @rule(target=documents, who=st.sampled_from(people), masked=st.booleans())
        def feed(self, who: str, masked: bool) -> str:
            spec = self._new_document(who, masked)
            self._log(f"feed by {who} masked={masked} → {spec.unique_id}")
            with team.client(who) as client:
                registry = team.feed(spec, client)
            return self._fed(spec, registry.success, str(error_codes(registry)))

        @rule(unique_id=documents, masked=st.booleans())
        def set_mask(self, unique_id: str, masked: bool) -> None:
            document = self._maskable(unique_id, masked, "TD3.3a")
            if document is None:
                return
            with team.client(document.author) as client:
                entry = find(client, self.patient)[unique_id]
                entry.confidentiality_codes = [NORMAL, MASQUE_PS] if masked else [NORMAL]
                entry.id = "update1"
                registry = client.update_metadata(self.patient, _update_set(team, self.patient, document.author),
                                                  entry, entry.version or "1").xds()
            assert registry.success, f"TD3.3a by the author refused: {error_codes(registry)}"
            document.masked = masked

        def _set_authorization(self, who: str, action: str, granted: bool) -> None:
            self._log(f"{'authorize' if granted else 'revoke'} {who} (TD0.3 {action})")
            with team.client(who) as client:
                response = client.set_authorization(self.patient, action)
            assert response.status_code == 200 and response.fault is None, f"TD0.3 {action} by {who} refused"
            self.granted[who] = granted

        @rule(who=st.sampled_from(people[1:]))
        def authorize(self, who: str) -> None:
            self._set_authorization(who, "AJOUT", True)

        @rule(who=st.sampled_from(people[1:]))
        def revoke(self, who: str) -> None:
            self._set_authorization(who, "SUPPRESSION", False)

        @rule(who=st.sampled_from(people))
        def query(self, who: str) -> None:
            self._log(f"query by {who}")
            with team.client(who) as client:
                response = client.find_documents(self.patient)
            answer = response.xds() if response.fault is None and response.message is not None else None
            refused = answer is None or answer.status != SUCCESS
            self._saw(who, None if refused else {e.unique_id for e in answer.objects.document_entries})

    return Visibility


def fhir_visibility_machine(team: Team, fhir: FhirDmp, note: Note) -> type[RuleBasedStateMachine]:
    """:func:`visibility_machine` with feed, mask / unmask, query and read by id through the FHIR API as further
    steps."""
    base = visibility_machine(team, note)
    people = _people(team)

    class FhirVisibility(base):  # type: ignore[valid-type,misc]
        @rule(target=base.documents, who=st.sampled_from(people), masked=st.booleans())  # type: ignore[attr-defined]
        def feed_over_fhir(self, who: str, masked: bool) -> str:
            spec = self._new_document(who, masked)
            self._log(f"ITI-65 by {who} masked={masked} → {spec.unique_id}")
            with fhir.client(who) as client:
                response = provide(client, provide_bundle(spec))
            return self._fed(spec, response.status_code == 200,  # type: ignore[no-any-return]
                             f"HTTP {response.status_code} {response.text[:300]}")

        @rule(unique_id=base.documents, masked=st.booleans())  # type: ignore[attr-defined]
        def set_mask_over_fhir(self, unique_id: str, masked: bool) -> None:
            document = self._maskable(unique_id, masked, "PATCH securityLabel")
            if document is None:
                return
            with fhir.client(document.author) as client:
                response = set_mask(client, documents(client, self.patient)[unique_id]["id"], masked)
            assert response.status_code == 200, \
                f"securityLabel PATCH by the author refused: HTTP {response.status_code} {response.text[:300]}"
            document.masked = masked

        def _urls(self, document: ModelDocument) -> tuple[str, str] | None:
            """Where the document is read, from its author's ITI-67 (None while the author is revoked)."""
            if document.urls is None and self.granted[document.author]:
                with fhir.client(document.author) as client:
                    resource = documents(client, self.patient)[document.unique_id]
                document.urls = (f"/DocumentReference/{resource['id']}", resource["content"][0]["attachment"]["url"])
            return document.urls

        @rule(unique_id=base.documents, who=st.sampled_from(people))  # type: ignore[attr-defined]
        def read_over_fhir(self, unique_id: str, who: str) -> None:
            """A read by id, as by a professional who learnt the id before a masking or a revocation."""
            document = self.model.get(unique_id)
            urls = self._urls(document) if document is not None else None
            if document is None or urls is None:
                return
            self._log(f"read {unique_id} (DocumentReference, ITI-68) by {who}")
            with fhir.client(who) as client:
                statuses = [client.get(url, headers={"accept": "*/*"}).status_code for url in urls]
            if self.granted[who] and (not document.masked or document.author == who):
                assert statuses == [200, 200], f"{who} cannot read {unique_id} it may see: HTTP {statuses}"
            else:
                assert all(400 <= s < 500 for s in statuses), f"{who} reads {unique_id} it must not: HTTP {statuses}"

        @rule(who=st.sampled_from(people))
        def query_over_fhir(self, who: str) -> None:
            self._log(f"ITI-67 by {who}")
            with fhir.client(who) as client:
                response = search(client, self.patient)
            seen = {unique_id_of(e["resource"]) for e in response.json().get("entry", [])
                    if e["resource"].get("resourceType") == "DocumentReference"}
            self._saw(who, seen if response.status_code == 200 else None)

    return FhirVisibility


def _update_set(team: Team, patient: object, author: str) -> object:
    from conformance.suites.server_role.documents import update_set

    return update_set(patient, author, team.identity.structure_id)


@pytest.mark.requirement("BENCH-DMP-VISIBILITY", "BENCH-DMP-AUTHZ", "BENCH-DMP-TD0.3")
def test_masking_and_authorizations_never_leak_a_document(team: Team, minimal_example: Note) -> None:
    run_state_machine_as_test(visibility_machine(team, minimal_example),
                              settings=settings(live_examples(), stateful_step_count=8))


@pytest.mark.requirement("BENCH-PDSM-MASK", "BENCH-PDSM-ACCESS", "BENCH-DMP-VISIBILITY", "BENCH-DMP-AUTHZ")
def test_masking_and_authorizations_never_leak_a_document_through_fhir(team: Team, fhir_dmp: FhirDmp,
                                                                       minimal_example: Note) -> None:
    run_state_machine_as_test(fhir_visibility_machine(team, fhir_dmp, minimal_example),
                              settings=settings(live_examples(), stateful_step_count=10))
