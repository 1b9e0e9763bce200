"""Masking and authorizations never leak a document: random sequences of feed / mask / unmask / authorize /
revoke / query by several professionals, checked against a model of what each one must see (normal mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from conformance.generate.xds import MASQUE_PS, NORMAL, DocumentSpec
from conformance.suites.properties.conftest import live_examples
from conformance.suites.server_role.team import OTHER_PS, SUCCESS, Team, error_codes, find

Note = Callable[[str], None]


@dataclass(slots=True)
class ModelDocument:
    unique_id: str
    author: str
    masked: bool


def visibility_machine(team: Team, note: Note) -> type[RuleBasedStateMachine]:
    """A state machine class bound to ``team``; each run uses a new patient (its DMP starts empty)."""
    people = [team.author, *OTHER_PS[:2]]

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

        @rule(target=documents, who=st.sampled_from(people), masked=st.booleans())
        def feed(self, who: str, masked: bool) -> str:
            spec = replace(team.spec(self.patient, b"", masked=masked), author_id=who,
                           document=DocumentSpec(f"<doc n='{len(self.model)}'/>".encode(), masked=masked))
            self._log(f"feed by {who} masked={masked} → {spec.unique_id}")
            with team.client(who) as client:
                registry = team.feed(spec, client)
            if self.granted[who]:
                assert registry.success, f"feed by authorized {who} refused: {error_codes(registry)}"
                self.model[spec.unique_id] = ModelDocument(spec.unique_id, who, masked)
            else:
                assert not registry.success, f"feed by {who} accepted although the authorization was revoked"
            return spec.unique_id

        @rule(unique_id=documents, masked=st.booleans())
        def set_mask(self, unique_id: str, masked: bool) -> None:
            document = self.model.get(unique_id)
            if document is None or not self.granted[document.author]:
                return
            self._log(f"{'mask' if masked else 'unmask'} {unique_id} by {document.author}")
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
            seen = {e.unique_id for e in answer.objects.document_entries} if answer is not None else set()
            if not self.granted[who]:
                assert answer is None or answer.status != SUCCESS, f"{who} (revoked) searched the DMP: {seen}"
                return
            expected = {d.unique_id for d in self.model.values() if not d.masked or d.author == who}
            leaked = (seen & set(self.model)) - expected
            missing = expected - seen
            assert not leaked, f"{who} sees documents it must not: {sorted(leaked)}"
            assert not missing, f"{who} does not see documents it may: {sorted(missing)}"

    return Visibility


def _update_set(team: Team, patient: object, author: str) -> object:
    from conformance.suites.server_role.documents import update_set

    return update_set(patient, author, team.identity.structure_id)


@pytest.mark.requirement("BENCH-DMP-VISIBILITY", "BENCH-DMP-AUTHZ", "BENCH-DMP-TD0.3")
def test_masking_and_authorizations_never_leak_a_document(team: Team, minimal_example: Note) -> None:
    run_state_machine_as_test(visibility_machine(team, minimal_example),
                              settings=settings(live_examples(), stateful_step_count=8))
