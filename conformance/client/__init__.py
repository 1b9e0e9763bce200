"""An httpx client that speaks the DMP protocol: one method per transaction.

``DmpClient(base_url, vihf_factory)`` sends each request with a fresh VIHF for the patient concerned (the
factory returns the ``wsse:Security`` header) and returns a :class:`DmpResponse`: HTTP status, the parsed
SOAP message (or the SOAP/MTOM error) and, for XDS transactions, the parsed XDS model. Typical use::

    factory = signed_vihf_factory(pki.ps_signature, mode=AuthMode.DIRECTE, subject_id=pki.PS_ID_NAT)
    with DmpClient("http://127.0.0.1:8080", factory) as dmp:
        dmp.test_existence(patient)            # TD0.2
        dmp.feed(request, patient)             # TD2.1
        dmp.find_documents(patient)            # TD3.1
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from conformance.client import messages
from conformance.identity import Ins
from conformance.pki import CertifiedKey
from conformance.soap import (
    SoapError,
    SoapMessage,
    build_envelope,
    new_message_id,
    parse_message,
    serialize_message,
)
from conformance.vihf import AuthMode, build_vihf, new_vihf, sign_vihf
from conformance.vihf.model import WSSE_NS
from conformance.xds import (
    AdhocQueryRequest,
    ProvideAndRegisterRequest,
    Status,
    SubmissionSet,
    parse_body,
)
from conformance.xds import DocumentEntry as XdsEntry
from conformance.xds.builders import (
    OutgoingMessage,
    td21_request,
    td31_request,
    td32_request,
    td33_metadata_update_request,
    td33_status_request,
)
from conformance.xds.constants import Oid
from conformance.xds.queries import find_documents

VihfFactory = Callable[[str | None], etree._Element]
Patient = Ins | str  # an Ins or a CX string

SERVICE_PREFIX = "/si-dmp-server/v2/services"
SERVICES = {"registry": "registry", "repository": "repository", "gdp": "patients",
            "habilitations": "habilitations", "patients": "PatientSpecific", "pdq": "pdq"}
HABILITATIONS = "urn:si-dmp-habilitations:HabilitationsEndPoint:"
PATIENT_SPECIFIC = "urn:si-dmp-patients:PatientSpecificEndPoint:"


def patient_cx(patient: Patient | None) -> str | None:
    if patient is None or isinstance(patient, str):
        return patient
    return patient.cx()


def tls_context(ca_file: str | Path, cert_file: str | Path | None = None,
                key_file: str | Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ context trusting ``ca_file``; with a client certificate for mutual TLS when given."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


def signed_vihf_factory(signer: CertifiedKey | None, *, mode: AuthMode = AuthMode.DIRECTE,
                        algorithm: str = "rsa-sha256", **fields: Any) -> VihfFactory:
    """A factory of ``wsse:Security`` headers holding a VIHF for the given patient, signed by ``signer``
    (unsigned when ``signer`` is None: only a lenient server accepts it)."""

    def factory(patient: str | None) -> etree._Element:
        vihf = new_vihf(mode, signer=signer, patient=patient or "", **fields)
        assertion = sign_vihf(vihf, signer, algorithm=algorithm) if signer else build_vihf(vihf)
        security = etree.Element(f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS})
        security.append(assertion)
        return security

    return factory


@dataclass(slots=True)
class DmpResponse:
    status_code: int
    content: bytes
    content_type: str
    message: SoapMessage | None  # None when the body is not a SOAP message
    error: str | None = None  # why the body could not be read

    @property
    def action(self) -> str | None:
        return self.message.action if self.message else None

    @property
    def fault(self) -> Any:
        return self.message.fault if self.message else None

    @property
    def body(self) -> etree._Element | None:
        return self.message.body if self.message else None

    def xds(self) -> Any:
        """The XDS model of the body (RegistryResponse, AdhocQueryResponse, RetrieveDocumentSetResponse…)."""
        return parse_body(self.message) if self.message else None

    def text(self, local: str) -> str | None:
        """Text of the first body descendant with this local name (DMP SOAP and HL7 v3 answers)."""
        if self.body is None:
            return None
        found = self.body.xpath(f".//*[local-name()='{local}']")
        return (found[0].text or "").strip() if found else None

    def attribute(self, local: str, name: str) -> str | None:
        if self.body is None:
            return None
        found = self.body.xpath(f".//*[local-name()='{local}']")
        return found[0].get(name) if found else None


class DmpClient:
    """One method per DMP transaction; every call builds, sends and parses one SOAP exchange."""

    def __init__(self, base_url: str, vihf_factory: VihfFactory, *, timeout: float = 30.0,
                 verify: bool | ssl.SSLContext = True, repository_id: str = Oid.DMP_REPOSITORY,
                 service_prefix: str = SERVICE_PREFIX, transport: httpx.BaseTransport | None = None) -> None:
        """``verify``: an SSL context from :func:`tls_context` for TLS and mutual TLS."""
        self.vihf_factory = vihf_factory
        self.repository_id = repository_id
        self.service_prefix = service_prefix
        self.http = httpx.Client(base_url=base_url, timeout=timeout, verify=verify, transport=transport)

    def __enter__(self) -> DmpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # -- transport ---------------------------------------------------------------------------------------------

    def post(self, service: str, body: bytes, content_type: str) -> DmpResponse:
        response = self.http.post(f"{self.service_prefix}/{SERVICES.get(service, service)}", content=body,
                                  headers={"content-type": content_type})
        content_type = response.headers.get("content-type", "")
        try:
            message: SoapMessage | None = parse_message(response.content, content_type)
            error = None
        except SoapError as exc:
            message, error = None, exc.message
        return DmpResponse(response.status_code, response.content, content_type, message, error)

    def send_outgoing(self, service: str, outgoing: OutgoingMessage) -> DmpResponse:
        body, content_type = outgoing.to_http()
        return self.post(service, body, content_type)

    def call(self, service: str, action: str, body: etree._Element, patient: Patient | None) -> DmpResponse:
        """A plain SOAP 1.2 request (GDP, PDQ, Habilitations, PatientSpecific)."""
        envelope = build_envelope(body, action=action, message_id=new_message_id(), to="",
                                  security=self.vihf_factory(patient_cx(patient)))
        data, content_type = serialize_message(envelope, action=action)
        return self.post(service, data, content_type)

    def _security(self, patient: Patient | None) -> etree._Element:
        return self.vihf_factory(patient_cx(patient))

    # -- XDS transactions --------------------------------------------------------------------------------------

    def feed(self, request: ProvideAndRegisterRequest, patient: Patient) -> DmpResponse:
        """TD2.1 (ITI-41); a replacement (TD2.1b) is the same call with an RPLC association."""
        return self.send_outgoing("repository", td21_request(request, security=self._security(patient)))

    def query(self, query: AdhocQueryRequest, patient: Patient) -> DmpResponse:
        """TD3.1 / TD3.1b (ITI-18) with any stored query."""
        return self.send_outgoing("registry", td31_request(query, security=self._security(patient)))

    def find_documents(self, patient: Patient, *, statuses: Sequence[str] = (Status.APPROVED,),
                       **filters: Any) -> DmpResponse:
        cx = patient_cx(patient) or ""
        return self.query(find_documents(cx, statuses=statuses, **filters), patient)

    def retrieve(self, unique_ids: Sequence[str], patient: Patient,
                 repository_id: str | None = None) -> DmpResponse:
        """TD3.2 (ITI-43) by document uniqueId."""
        return self.send_outgoing("repository", td32_request(
            unique_ids, repository_unique_id=repository_id or self.repository_id,
            security=self._security(patient)))

    def update_status(self, patient: Patient, submission_set: SubmissionSet, entry_uuid: str, *,
                      original_status: str, new_status: str) -> DmpResponse:
        """TD3.3c (→ Deleted) and TD3.3d (Approved ↔ Archived) (ITI-57)."""
        return self.send_outgoing("registry", td33_status_request(
            submission_set, entry_uuid, original_status=original_status, new_status=new_status,
            security=self._security(patient)))

    def update_metadata(self, patient: Patient, submission_set: SubmissionSet, entry: XdsEntry,
                        previous_version: str) -> DmpResponse:
        """TD3.3a/b: a new metadata version (masking, visibility) of an entry (ITI-57)."""
        return self.send_outgoing("registry", td33_metadata_update_request(
            submission_set, entry, previous_version, security=self._security(patient)))

    # -- administration and habilitations ------------------------------------------------------------------

    def test_existence(self, patient: Ins) -> DmpResponse:
        """TD0.2: does the DMP exist, and is the caller authorized?"""
        return self.call("gdp", "urn:hl7-org:v3:PRPA_IN201307UV02",
                         messages.patient_query(patient.value, patient.oid), patient)

    def read_administrative_data(self, patient: Ins) -> DmpResponse:
        """TD1.3a."""
        return self.call("gdp", "urn:hl7-org:v3:PRPA_IN201307UV02",
                         messages.patient_query(patient.value, patient.oid, reason="CNSLT_DATA"), patient)

    def revise_patient(self, patient: Ins, *, close: bool = False, **traits: str) -> DmpResponse:
        """TD1.3b (modify traits) or TD1.4 (``close=True``)."""
        return self.call("gdp", "urn:hl7-org:v3:PRPA_IN201314UV02",
                         messages.patient_revise(patient.value, patient.oid, close=close, **traits), patient)

    def search_patients(self, vihf_patient: Patient | None = None, **traits: str) -> DmpResponse:
        """TD0.5 (PDQv3, no INS); ``vihf_patient`` fills the VIHF resource-id when the VIHF needs one."""
        return self.call("pdq", "urn:hl7-org:v3:PRPA_IN201305UV02", messages.pdq_query(**traits), vihf_patient)

    def set_authorization(self, patient: Patient, action: str = "AJOUT", role: str | None = None) -> DmpResponse:
        """TD0.3 (the patient travels in the VIHF only)."""
        return self.call("habilitations", f"{HABILITATIONS}setAuthorization",
                         messages.set_authorization(action, role), patient)

    def list_authorizations(self, patient: Patient, mode: str = "TOUTE") -> DmpResponse:
        """TD1.6."""
        return self.call("habilitations", f"{HABILITATIONS}listAuthorizationByPatient",
                         messages.list_authorizations(mode), patient)

    def patient_list(self, vihf_patient: Patient | None = None, start_date: str = "20100101000000") -> DmpResponse:
        """TD0.4; the body names no patient (``vihf_patient`` fills the VIHF resource-id when needed)."""
        return self.call("patients", f"{PATIENT_SPECIFIC}patientList", messages.patient_list(start_date),
                         vihf_patient)


__all__ = ["DmpClient", "DmpResponse", "VihfFactory", "messages", "patient_cx", "signed_vihf_factory", "tls_context"]
