"""DMP-specific SOAP services: TD0.3 setAuthorization, TD1.6 listAuthorizationByPatient (Habilitations) and
TD0.4 patientList (PatientSpecific). The patient is the VIHF resource-id (the bodies carry none).

Responses copy the official examples: ``<ns1:…Response><ns1:output>…<ns1:status>DMPOk</ns1:status>``.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from conformance.server.access import ACCESS_DENIED, UNKNOWN_PATIENT, check_dmp_access
from conformance.server.errors import DmpFault
from conformance.server.exchange import Exchange, Reply
from conformance.store import AuthorizationStatus, Patient

HABILITATIONS = "urn:si-dmp-habilitations"
PATIENTS = "urn:si-dmp-patients"
IDNAT_PS = "1.2.250.1.71.4.2.1"
INS_C_OID = "1.2.250.1.213.1.4.2"
OK = "DMPOk"
LIST_MODES = {"ACTIVE": [AuthorizationStatus.GRANTED], "INTERDITE": [AuthorizationStatus.BLOCKED],
              "TOUTE": [AuthorizationStatus.GRANTED, AuthorizationStatus.BLOCKED]}


def _el(parent: etree._Element | None, ns: str, local: str, text: str | None = None) -> etree._Element:
    tag = f"{{{ns}}}{local}"
    element = etree.SubElement(parent, tag) if parent is not None else etree.Element(tag, nsmap={"ns1": ns})
    if text is not None:
        element.text = text
    return element


def _field(body: etree._Element, ns: str, local: str) -> str | None:
    found = body.find(f"{{{ns}}}{local}")
    if found is None:  # the WSDL says qualified, some clients send unqualified children
        found = body.find(local)
    return found.text.strip() if found is not None and found.text else None


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y%m%d%H%M%S") if value else ""


def _vihf_patient(exchange: Exchange) -> Patient:
    patient = exchange.patient()
    if patient is None:
        exchange.record("habilitations", exchange.auth.patient_cx, None, detail="unknown patient")
        raise DmpFault(f"no DMP for the VIHF resource-id {exchange.auth.patient_cx!r}", subcode=UNKNOWN_PATIENT)
    return patient


def set_authorization(exchange: Exchange) -> Reply:
    """TD0.3: AJOUT (optionally as MEDECIN_TRAITANT) or SUPPRESSION of the caller's own authorization."""
    action = _field(exchange.body, HABILITATIONS, "action")
    role = _field(exchange.body, HABILITATIONS, "role")
    if action not in ("AJOUT", "SUPPRESSION"):
        raise DmpFault(f"setAuthorization/action is {action!r}, expected AJOUT or SUPPRESSION",
                       subcode="DMPInvalidData")
    patient = _vihf_patient(exchange)
    dmp = exchange.dmp_state(patient)
    if action == "AJOUT":
        if dmp.authorization is AuthorizationStatus.BLOCKED:
            exchange.record("add authorization", patient, None, detail="blocked by the patient")
            raise DmpFault("the patient has blocked this professional", subcode=ACCESS_DENIED)
        _, changed = exchange.store.set_authorization(patient.id, exchange.caller.actor_id,
                                                      AuthorizationStatus.GRANTED,
                                                      attending=True if role == "MEDECIN_TRAITANT" else None)
        context = "Autorisation ajoutée" if changed else "Autorisation déjà présente aucune action effectuée"
    else:
        if dmp.authorization is not AuthorizationStatus.GRANTED:
            context, changed = "Aucune autorisation à supprimer aucune action effectuée", False
        else:
            exchange.store.set_authorization(patient.id, exchange.caller.actor_id, AuthorizationStatus.REVOKED,
                                             attending=False)
            context, changed = "Autorisation supprimée", True
    exchange.record("add authorization" if action == "AJOUT" else "remove authorization", patient,
                    detail=None if changed else "nothing to do")
    response = _el(None, HABILITATIONS, "setAuthorizationResponse")
    output = _el(response, HABILITATIONS, "output")
    _el(output, HABILITATIONS, "status", OK)
    _el(output, HABILITATIONS, "context", context)
    return Reply(response, outcome=OK)


def list_authorizations(exchange: Exchange) -> Reply:
    """TD1.6: professionals authorized on (ACTIVE), blocked from (INTERDITE) or both (TOUTE) the DMP."""
    mode = _field(exchange.body, HABILITATIONS, "mode") or "TOUTE"
    if mode not in LIST_MODES:
        raise DmpFault(f"listAuthorizationByPatient/mode is {mode!r}, expected ACTIVE, INTERDITE or TOUTE",
                       subcode="DMPInvalidData")
    patient = _vihf_patient(exchange)
    decision = check_dmp_access(exchange.caller, exchange.dmp_state(patient))
    exchange.record("list authorizations", patient, decision)
    if not decision:
        raise DmpFault(decision.reason, subcode=decision.code or ACCESS_DENIED)
    response = _el(None, HABILITATIONS, "listAuthorizationByPatientResponse")
    output = _el(response, HABILITATIONS, "output")
    for authorization, professional in exchange.store.authorizations_of_patient(patient.id, LIST_MODES[mode]):
        item = _el(output, HABILITATIONS, "listOfAuthorizationByPatient")
        _el(item, HABILITATIONS, "nationalId", authorization.professional_id_nat)
        _el(item, HABILITATIONS, "nationalIdType", IDNAT_PS)
        _el(item, HABILITATIONS, "firstName", professional.given_name if professional else "")
        _el(item, HABILITATIONS, "lastName", professional.family_name if professional else "")
        if professional and professional.specialty_code:
            _el(item, HABILITATIONS, "codeSpeciality", professional.specialty_code)
            _el(item, HABILITATIONS, "libSpeciality", professional.specialty_label or "")
        _el(item, HABILITATIONS, "startOfAuthorization", _stamp(authorization.started_at))
        _el(item, HABILITATIONS, "lastActionDate", _stamp(authorization.updated_at))
        _el(item, HABILITATIONS, "mode",
            "INTERDITE" if authorization.status == AuthorizationStatus.BLOCKED else "ACTIVE")
    _el(output, HABILITATIONS, "status", OK)
    _el(output, HABILITATIONS, "context")
    return Reply(response, outcome=OK)


def patient_list(exchange: Exchange) -> Reply:
    """TD0.4: the DMPs the caller is authorized on, with their last access, update and addition dates."""
    response = _el(None, PATIENTS, "patientListResponse")
    output = _el(response, PATIENTS, "output")
    start = _field(exchange.body, PATIENTS, "startDate") or ""
    for patient, authorization in exchange.store.patients_of_professional(exchange.caller.actor_id):
        dates = exchange.store.last_dates(patient.cx)
        if start and _stamp(dates["lastAddDate"]) < start and _stamp(dates["lastAccessDate"]) < start:
            continue
        item = _el(output, PATIENTS, "patientlistData")
        if patient.traits.get("ins_c"):
            identifier = _el(item, PATIENTS, "patientIdentifier")
            _el(identifier, PATIENTS, "nationalId", patient.traits["ins_c"])
            _el(identifier, PATIENTS, "nationalIdType", INS_C_OID)
        identifier = _el(item, PATIENTS, "patientIdentifier")
        _el(identifier, PATIENTS, "nationalId", patient.ins)
        _el(identifier, PATIENTS, "nationalIdType", patient.ins_oid)
        _el(item, PATIENTS, "lastName", patient.family_name)
        _el(item, PATIENTS, "firstName", patient.given_name)
        _el(item, PATIENTS, "dateOfBirth", patient.birth_date or "")
        _el(item, PATIENTS, "MT", "true" if authorization.attending else "false")
        _el(item, PATIENTS, "message", "false")
        for name in ("lastAccessDate", "lastUpdateDate", "lastAddDate"):
            _el(item, PATIENTS, name, _stamp(dates[name]))
    _el(output, PATIENTS, "status", OK)
    exchange.record("list patients", None, detail=f"{len(output) - 1} DMP(s)")
    return Reply(response, outcome=OK)
