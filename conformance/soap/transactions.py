"""The DMP transaction catalogue (docs/transactions.md §2) and detection of the transaction of a message.

Detection uses ``wsa:Action`` first, then the body: TD0.2 and TD1.3a share an action and differ by the HL7 v3
reasonCode (TEST_EXST / CNSLT_DATA), as do TD1.3b and TD1.4 (MODIF_DATA / FERM); TD3.3c and TD3.3d share the
ITI-57 action and differ by the NewStatus of the UpdateAvailabilityStatus association.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from conformance.soap.envelope import SoapMessage
from conformance.xml import NAMESPACES

HL7 = NAMESPACES["hl7"]
RIM = NAMESPACES["rim"]


@dataclass(frozen=True, slots=True)
class Transaction:
    td: str
    title: str
    request_action: str
    response_action: str
    request_element: str  # Clark name of the request body element
    mtom: bool = False  # Registry and Repository services use MTOM
    active: bool = True  # usable in 2026


def _hl7(local: str) -> str:
    return f"{{{HL7}}}{local}"


_PATIENTS = "urn:si-dmp-patients"
_HABILITATIONS = "urn:si-dmp-habilitations"
CATALOGUE: tuple[Transaction, ...] = (
    Transaction("TD0.2", "Test d'existence du DMP", "urn:hl7-org:v3:PRPA_IN201307UV02",
                "urn:hl7-org:v3:PRPA_IN201308UV02", _hl7("PRPA_IN201307UV02")),
    Transaction("TD1.3a", "Consultation des données administratives", "urn:hl7-org:v3:PRPA_IN201307UV02",
                "urn:hl7-org:v3:PRPA_IN201308UV02", _hl7("PRPA_IN201307UV02")),
    Transaction("TD0.3", "Mise à jour de l'autorisation", f"{_HABILITATIONS}:HabilitationsEndPoint:setAuthorization",
                f"{_HABILITATIONS}:HabilitationsEndPoint:setAuthorizationResponse",
                f"{{{_HABILITATIONS}}}setAuthorization"),
    Transaction("TD0.4", "Liste des DMP autorisés", f"{_PATIENTS}:PatientSpecificEndPoint:patientList",
                f"{_PATIENTS}:PatientSpecificEndPoint:patientListResponse", f"{{{_PATIENTS}}}patientList"),
    Transaction("TD0.5", "Recherche d'un patient sans INS", "urn:hl7-org:v3:PRPA_IN201305UV02",
                "urn:hl7-org:v3:PRPA_IN201306UV02", _hl7("PRPA_IN201305UV02")),
    Transaction("TD1.1", "Création d'un DMP (suspendue)", "urn:hl7-org:v3:PRPA_IN201311UV02",
                "urn:hl7-org:v3:PRPA_IN201311ResponseUV02", _hl7("PRPA_IN201311UV02"), active=False),
    Transaction("TD1.3b", "Modification des données administratives", "urn:hl7-org:v3:PRPA_IN201314UV02",
                "urn:hl7-org:v3:PRPA_IN201314ResponseUV02", _hl7("PRPA_IN201314UV02")),
    Transaction("TD1.4", "Fermeture d'un DMP", "urn:hl7-org:v3:PRPA_IN201314UV02",
                "urn:hl7-org:v3:PRPA_IN201314ResponseUV02", _hl7("PRPA_IN201314UV02")),
    Transaction("TD1.5a", "Création du compte internet patient (retirée)",
                f"{_PATIENTS}:PatientSpecificEndPoint:createPatientAccess",
                f"{_PATIENTS}:PatientSpecificEndPoint:createPatientAccessResponse",
                f"{{{_PATIENTS}}}createPatientAccess", active=False),
    Transaction("TD1.5b", "Ajout d'un canal OTP (retirée)", f"{_PATIENTS}:PatientSpecificEndPoint:patientOTPUpdate",
                f"{_PATIENTS}:PatientSpecificEndPoint:patientOTPUpdateResponse",
                f"{{{_PATIENTS}}}patientOTPUpdate", active=False),
    Transaction("TD1.5d", "Mise à jour du compte internet patient (retirée)",
                f"{_PATIENTS}:PatientSpecificEndPoint:updatePatientAccess",
                f"{_PATIENTS}:PatientSpecificEndPoint:updatePatientAccessResponse",
                f"{{{_PATIENTS}}}updatePatientAccess", active=False),
    Transaction("TD1.6", "Liste des PS autorisés ou bloqués",
                f"{_HABILITATIONS}:HabilitationsEndPoint:listAuthorizationByPatient",
                f"{_HABILITATIONS}:HabilitationsEndPoint:listAuthorizationByPatientResponse",
                f"{{{_HABILITATIONS}}}listAuthorizationByPatient"),
    Transaction("TD2.1", "Alimentation (ITI-41)", "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
                "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
                "{urn:ihe:iti:xds-b:2007}ProvideAndRegisterDocumentSetRequest", mtom=True),
    Transaction("TD3.1", "Recherche de documents (ITI-18)", "urn:ihe:iti:2007:RegistryStoredQuery",
                "urn:ihe:iti:2007:RegistryStoredQueryResponse",
                "{urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0}AdhocQueryRequest", mtom=True),
    Transaction("TD3.2", "Consultation de documents (ITI-43)", "urn:ihe:iti:2007:RetrieveDocumentSet",
                "urn:ihe:iti:2007:RetrieveDocumentSetResponse",
                "{urn:ihe:iti:xds-b:2007}RetrieveDocumentSetRequest", mtom=True),
    Transaction("TD3.3c", "Suppression d'un document (ITI-57)", "urn:ihe:iti:2010:UpdateDocumentSet",
                "urn:ihe:iti:2010:UpdateDocumentSet-Response",
                "{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest", mtom=True),
    Transaction("TD3.3d", "Archivage / désarchivage d'un document (ITI-57)", "urn:ihe:iti:2010:UpdateDocumentSet",
                "urn:ihe:iti:2010:UpdateDocumentSet-Response",
                "{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest", mtom=True),
)
BY_TD = {t.td: t for t in CATALOGUE}
REQUEST_ACTIONS = {t.request_action for t in CATALOGUE}
RESPONSE_ACTIONS = {t.response_action for t in CATALOGUE}
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"


@dataclass(frozen=True, slots=True)
class Detected:
    """What a message is: its transaction (None when unknown) and whether it is the response."""

    transaction: Transaction | None
    is_response: bool


def _reason_code(body: etree._Element) -> str | None:
    reason = body.find(f".//{_hl7('controlActProcess')}/{_hl7('reasonCode')}")
    return reason.get("code") if reason is not None else None


def _new_status(body: etree._Element) -> str | None:
    for slot in body.iter(f"{{{RIM}}}Slot"):
        if slot.get("name") == "NewStatus":
            value = slot.find(f"{{{RIM}}}ValueList/{{{RIM}}}Value")
            return (value.text or "").strip() if value is not None else None
    return None


def _refine(candidates: list[Transaction], body: etree._Element | None) -> Transaction:
    """Choose among transactions sharing an action by looking at the body."""
    if len(candidates) == 1 or body is None:
        return candidates[0]
    tds = {t.td for t in candidates}
    if tds == {"TD0.2", "TD1.3a"}:
        return BY_TD["TD1.3a" if _reason_code(body) == "CNSLT_DATA" else "TD0.2"]
    if tds == {"TD1.3b", "TD1.4"}:
        return BY_TD["TD1.4" if _reason_code(body) == "FERM" else "TD1.3b"]
    if tds == {"TD3.3c", "TD3.3d"}:
        status = _new_status(body) or ""
        return BY_TD["TD3.3c" if status.endswith(":Deleted") else "TD3.3d"]
    return candidates[0]


def detect_transaction(message: SoapMessage) -> Detected:
    """The transaction of ``message`` from its action, or from its body element when the action is unknown."""
    action = message.action or ""
    if action.endswith(":Fault:SoapFault"):  # CXF-style fault action of the DMP-specific services
        action = action.removesuffix(":Fault:SoapFault") + "Response"
    requests = [t for t in CATALOGUE if t.request_action == action]
    if requests:
        return Detected(_refine(requests, message.body), False)
    responses = [t for t in CATALOGUE if t.response_action == action]
    if responses:
        return Detected(responses[0] if len(responses) == 1 else _refine(responses, None), True)
    if message.body is not None:
        by_body = [t for t in CATALOGUE if t.request_element == message.body.tag]
        if by_body:
            return Detected(_refine(by_body, message.body), False)
    return Detected(None, action in RESPONSE_ACTIONS or message.relates_to is not None)
