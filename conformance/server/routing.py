"""SOAP dispatch: parse, route on ``wsa:Action`` (not on the URL path), authenticate, run the service, answer.

Every outcome is a SOAP message: the service's response, an XDS response with status Failure, or a SOAP 1.2
fault (Sender for bad input → HTTP 400; Receiver for a defect of ours → HTTP 500, logged). Responses carry
the response action, ``To`` anonymous and ``RelatesTo`` = the request MessageID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from lxml import etree

from conformance.findings import Finding
from conformance.server import dmp_services, hl7v3, xds_services
from conformance.server.errors import DmpFault, XdsFailure
from conformance.server.exchange import Exchange, Reply
from conformance.server.identity import Authentication, authenticate
from conformance.server.settings import ServerSettings
from conformance.soap import (
    WSA_ANONYMOUS,
    MtomLimits,
    SoapError,
    SoapFault,
    SoapMessage,
    build_envelope,
    build_fault,
    parse_message,
    serialize_message,
)
from conformance.store import Store
from conformance.xds import Action

log = logging.getLogger(__name__)

HL7_ACTION = "urn:hl7-org:v3:"
HABILITATIONS_ACTION = "urn:si-dmp-habilitations:HabilitationsEndPoint:"
PATIENTS_ACTION = "urn:si-dmp-patients:PatientSpecificEndPoint:"
WSA_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"


@dataclass(frozen=True, slots=True)
class Route:
    transaction: str
    service: Callable[[Exchange], Reply]
    response_action: str
    # XDS transactions answer a refusal with their own response (status Failure); others with a SOAP fault
    failure: Callable[[XdsFailure], etree._Element] | None = None
    dmp_specific: bool = False  # faults use the CXF-style action "<request action>:Fault:SoapFault"


def _retired(reason: str) -> Callable[[Exchange], Reply]:
    def service(_exchange: Exchange) -> Reply:
        raise DmpFault(reason, subcode="DMPTransactionNotAvailable")
    return service


_SET_AUTHORIZATION = Route("TD0.3", dmp_services.set_authorization,
                           f"{HABILITATIONS_ACTION}setAuthorizationResponse", dmp_specific=True)
_LIST_AUTHORIZATIONS = Route("TD1.6", dmp_services.list_authorizations,
                             f"{HABILITATIONS_ACTION}listAuthorizationByPatientResponse", dmp_specific=True)
_REMOVED_TD15 = _retired("TD1.5 (patient web account) was removed from the DMP WSDL v2.01.04 in June 2024")

ROUTES: dict[str, Route] = {
    Action.ITI41: Route("TD2.1", xds_services.provide_and_register, Action.ITI41_RESPONSE,
                        xds_services.registry_failure),
    Action.ITI18: Route("TD3.1", xds_services.stored_query, Action.ITI18_RESPONSE, xds_services.query_failure),
    Action.ITI43: Route("TD3.2", xds_services.retrieve, Action.ITI43_RESPONSE, xds_services.retrieve_failure),
    Action.ITI57: Route("TD3.3", xds_services.update_document_set, Action.ITI57_RESPONSE,
                        xds_services.registry_failure),
    f"{HL7_ACTION}PRPA_IN201307UV02": Route("TD0.2", hl7v3.patient_query, f"{HL7_ACTION}PRPA_IN201308UV02"),
    f"{HL7_ACTION}PRPA_IN201314UV02": Route("TD1.3b", hl7v3.patient_revise,
                                            f"{HL7_ACTION}PRPA_IN201314ResponseUV02"),
    f"{HL7_ACTION}PRPA_IN201305UV02": Route("TD0.5", hl7v3.pdq_query, f"{HL7_ACTION}PRPA_IN201306UV02"),
    f"{HL7_ACTION}PRPA_IN201311UV02": Route("TD1.1", _retired("DMP creation by an LPS (TD1.1) is suspended since "
                                                              "1 July 2021: Mon espace santé creates records"),
                                            f"{HL7_ACTION}PRPA_IN201311ResponseUV02"),
    f"{HABILITATIONS_ACTION}setAuthorization": _SET_AUTHORIZATION,
    f"{HL7_ACTION}setAuthorization": _SET_AUTHORIZATION,  # the WSDL's soapAction
    f"{HABILITATIONS_ACTION}listAuthorizationByPatient": _LIST_AUTHORIZATIONS,
    f"{HL7_ACTION}listAuthorizationByPatient": _LIST_AUTHORIZATIONS,
    f"{PATIENTS_ACTION}patientList": Route("TD0.4", dmp_services.patient_list,
                                           f"{PATIENTS_ACTION}patientListResponse", dmp_specific=True),
    **{f"{PATIENTS_ACTION}{op}": Route("TD1.5", _REMOVED_TD15, f"{PATIENTS_ACTION}{op}Response", dmp_specific=True)
       for op in ("createPatientAccess", "patientOTPUpdate", "updatePatientAccess")},
}


@dataclass(slots=True)
class SoapOutcome:
    """The HTTP answer and what the capture keeps of the exchange."""

    status: int
    body: bytes
    content_type: str
    action: str | None = None
    transaction: str | None = None
    outcome: str | None = None
    identity: dict[str, str | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def fault_outcome(fault: DmpFault, message: SoapMessage | None, route: Route | None, findings: list[Finding],
           transaction: str | None = None, identity: dict[str, str | None] | None = None) -> SoapOutcome:
    action = WSA_FAULT_ACTION
    if route is not None and route.dmp_specific and message is not None and message.action:
        action = f"{message.action}:Fault:SoapFault"
    envelope = build_fault(SoapFault(fault.code, fault.reason, [fault.subcode]),
                           relates_to=message.message_id if message else None, action=action)
    body, content_type = serialize_message(envelope, action=action)
    return SoapOutcome(fault.status, body, content_type, message.action if message else None,
                       transaction or (route.transaction if route else None), fault.subcode, identity or {},
                       findings)


def handle_soap(data: bytes, content_type: str | None, settings: ServerSettings, store: Store,
                tls_client: x509.Certificate | None = None) -> SoapOutcome:
    """Answer one SOAP request (from the mutual-TLS client ``tls_client``, when known); never raises."""
    findings: list[Finding] = []
    message: SoapMessage | None = None
    route: Route | None = None
    auth: Authentication | None = None
    exchange: Exchange | None = None
    try:
        try:
            message = parse_message(data, content_type, lenient=settings.lenient_mime,
                                    limits=MtomLimits(max_total=settings.max_body_bytes))
        except SoapError as exc:
            findings.append(exc.to_finding())
            raise DmpFault(f"unreadable SOAP message: {exc.message}", subcode=exc.rule) from exc
        findings.extend(message.findings)
        if not message.action:
            raise DmpFault("no wsa:Action header: the reference DMP routes on WS-Addressing Action",
                           subcode="MessageAddressingHeaderRequired")
        route = ROUTES.get(message.action)
        if route is None:
            raise DmpFault(f"wsa:Action {message.action!r} is not a DMP transaction of this server",
                           subcode="ActionNotSupported")
        if message.body is None:
            raise DmpFault("the SOAP Body is empty", subcode="DMPInvalidData")
        auth = authenticate(message, settings, tls_client)
        findings.extend(auth.findings)
        exchange = Exchange(store, settings, message, auth, route.transaction, findings)
        try:
            reply = route.service(exchange)
        except XdsFailure as failure:
            if route.failure is None:
                raise DmpFault(failure.context, subcode=failure.code) from failure
            reply = Reply(route.failure(failure), outcome=failure.code)
        envelope = build_envelope(reply.body, action=route.response_action, reply_to=None, to=WSA_ANONYMOUS,
                                  relates_to=message.message_id)
        body, response_type = serialize_message(envelope, reply.attachments, action=route.response_action)
        return SoapOutcome(200, body, response_type, message.action, exchange.transaction, reply.outcome,
                           auth.identity(), findings)
    except DmpFault as fault:
        return fault_outcome(fault, message, route, findings, exchange.transaction if exchange else None,
                      auth.identity() if auth else None)
    except Exception:  # a defect of ours: answer a Receiver fault, never a stack trace
        log.exception("unexpected error while handling %s", message.action if message else "a request")
        return fault_outcome(DmpFault("internal error of the reference DMP (logged)", subcode="DMPInternalError",
                               code="Receiver", status=500), message, route, findings,
                      exchange.transaction if exchange else None, auth.identity() if auth else None)
