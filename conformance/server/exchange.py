"""What every service receives (:class:`Exchange`) and returns (:class:`Reply`), and the shared steps:
find the patient of the call, build its :class:`DmpState`, record the access in the history."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from conformance.findings import Finding
from conformance.server.access import Caller, Decision, DmpState, DocumentFacts
from conformance.server.identity import Authentication
from conformance.server.settings import ServerSettings
from conformance.soap import Attachment, SoapMessage
from conformance.store import (
    AuthorizationStatus,
    DmpStatus,
    DocumentEntry,
    NewEntry,
    Patient,
    Store,
    parse_cx,
)


@dataclass(slots=True)
class Reply:
    """A service's answer: the body element, MTOM attachments (ITI-43), and a short outcome for the capture."""

    body: etree._Element
    attachments: list[Attachment] = field(default_factory=list)
    outcome: str = "Success"
    mtom: bool = False


@dataclass(slots=True)
class Exchange:
    store: Store
    settings: ServerSettings
    message: SoapMessage
    auth: Authentication
    transaction: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def caller(self) -> Caller:
        return self.auth.caller

    @property
    def body(self) -> etree._Element:
        assert self.message.body is not None  # the app refuses body-less requests before dispatch
        return self.message.body

    def patient(self, cx: str | None = None) -> Patient | None:
        """The patient named by ``cx`` or, by default, by the VIHF resource-id."""
        cx = cx or self.auth.patient_cx
        return self.store.patient(cx) if cx else None

    def dmp_state(self, patient: Patient | None) -> DmpState:
        if patient is None:
            return DmpState(exists=False)
        authorization = self.store.authorization(patient.id, self.caller.actor_id)
        granted = authorization is not None and authorization.status == AuthorizationStatus.GRANTED
        return DmpState(exists=True, status=DmpStatus(patient.dmp_status),
                        authorization=AuthorizationStatus(authorization.status) if authorization else None,
                        attending=bool(authorization and authorization.attending and granted),
                        minor=patient.minor, secret_connection=patient.secret_connection,
                        attached_to_mes=patient.attached_to_mes,
                        opposes_break_glass=bool(patient.traits.get("opposes_break_glass")),
                        opposes_regulation=bool(patient.traits.get("opposes_regulation")))

    def record(self, action: str, patient: Patient | str | None, decision: Decision | None = None, *,
               target: str | None = None, detail: str | None = None) -> None:
        """One line of access history per operation, allowed or refused."""
        cx = patient.cx if isinstance(patient, Patient) else patient
        outcome = "allowed" if decision is None or decision.allowed else "denied"
        detail = detail or (decision.reason if decision and not decision.allowed else None)
        # PostgreSQL enforces the column widths (SQLite does not): clip caller-supplied values, never a 500;
        # a long target (the uniqueIds of a whole submission) is kept whole in the detail
        if target and len(target) > 128:
            target, detail = target[:125] + "...", f"targets: {target}" + (f"; {detail}" if detail else "")
        self.store.record_access(actor_id=self.caller.actor_id[:64],
                                 actor_structure=_clip(self.caller.structure_id, 64),
                                 actor_role=_clip(self.caller.role_code, 32), transaction=self.transaction,
                                 action=action, patient_id=_clip(cx, 128), mode=self.caller.access_mode,
                                 target=target, outcome=outcome, detail=detail)


def _clip(value: str | None, width: int) -> str | None:
    return value[:width] if value else value


def same_patient(left: str | None, right: str | None) -> bool:
    """Two CX patient ids name the same patient (id and assigning authority OID)."""
    return bool(left and right) and parse_cx(left or "") == parse_cx(right or "")


def facts_of(entry: DocumentEntry) -> DocumentFacts:
    summary = entry.metadata_json
    return DocumentFacts(status=entry.status,
                         confidentiality_codes=tuple(summary.get("confidentialityCodes", ())),
                         author_persons=tuple(summary.get("authorPersons", ())),
                         author_institutions=tuple(summary.get("authorInstitutions", ())),
                         legal_authenticator=summary.get("legalAuthenticator"), class_code=entry.class_code)


def facts_of_entry(entry: NewEntry) -> DocumentFacts:
    """The access facts of an entry about to be registered (TD2.1 by SOAP or ITI-65)."""
    return DocumentFacts(confidentiality_codes=tuple(entry.confidentiality_codes),
                         author_persons=tuple(entry.author_persons),
                         author_institutions=tuple(entry.author_institutions),
                         legal_authenticator=entry.legal_authenticator, class_code=entry.class_code)


def xcn_id(value: str | None) -> str | None:
    """XCN.1 (the person's id) of an HL7 v2 XCN value."""
    return value.split("^", 1)[0] or None if value else None


def xon_id(value: str) -> str | None:
    """XON.10 (the organisation identifier) of an HL7 v2 XON value."""
    parts = value.split("^")
    return parts[9] or None if len(parts) > 9 else None
