"""Load scenarios against a DMP: a mix of TD0.2, TD2.1, TD3.1 and TD3.2 by LPS users with think times.

Run through ``dmp-conformance load`` (which writes the configuration this file reads from ``$DMP_LOAD_CONFIG``):
locust must be the first import of its process (gevent monkey-patching), so this file is never imported by pytest
or by the bench itself. Messages are built with the bench's own builders and VIHF signer.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, task

from conformance.client import messages, signed_vihf_factory
from conformance.generate.xds import DocumentSpec, SubmissionSpec, build_submission
from conformance.identity import Ins
from conformance.pki import CertifiedKey
from conformance.soap import SoapError, build_envelope, new_message_id, parse_message, serialize_message
from conformance.vihf import AuthMode
from conformance.xds import Status
from conformance.xds.builders import td21_request, td31_request, td32_request, xades_signer
from conformance.xds.messages import parse_body
from conformance.xds.queries import find_documents

CONFIG: dict[str, Any] = json.loads(Path(os.environ["DMP_LOAD_CONFIG"]).read_text(encoding="utf-8"))
SERVICE = CONFIG.get("service_prefix", "/si-dmp-server/v2/services")
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"


def _signer() -> CertifiedKey:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(CONFIG["vihf_key"]).read_bytes(), None)
    cert = x509.load_pem_x509_certificate(Path(CONFIG["vihf_cert"]).read_bytes())
    return CertifiedKey(key, cert)  # type: ignore[arg-type]


SIGNER = _signer()
SEAL = xades_signer(SIGNER.key, SIGNER.cert)  # type: ignore[arg-type]
VIHF = signed_vihf_factory(SIGNER, mode=AuthMode.DIRECTE, subject_id=CONFIG["subject"],
                           structure_id=CONFIG["structure"])
PATIENTS = [Ins(p["ins"], p["oid"]) for p in CONFIG["patients"]]


class LpsUser(HttpUser):
    """A professional's LPS: checks the DMP exists, feeds, searches and reads documents of its patients."""

    wait_time = between(CONFIG.get("think_min", 0.1), CONFIG.get("think_max", 0.5))

    def on_start(self) -> None:
        self.patient = random.choice(PATIENTS)
        self.fed: list[str] = []

    def _post(self, name: str, service: str, body: bytes, content_type: str, check: Any = None) -> None:
        with self.client.post(f"{SERVICE}/{service}", data=body, headers={"content-type": content_type}, name=name,
                              catch_response=True) as response:
            problem = _problem(response.status_code, response.content, response.headers.get("content-type", ""),
                               check)
            if problem:
                response.failure(problem)
            else:
                response.success()

    @task(1)
    def td02_test_existence(self) -> None:
        action = "urn:hl7-org:v3:PRPA_IN201307UV02"
        envelope = build_envelope(messages.patient_query(self.patient.value, self.patient.oid), action=action,
                                  message_id=new_message_id(), to="", security=VIHF(self.patient.cx()))
        body, content_type = serialize_message(envelope, action=action)
        self._post("TD0.2", "patients", body, content_type)

    @task(2)
    def td21_feed(self) -> None:
        spec = SubmissionSpec(self.patient, DocumentSpec(os.urandom(random.randint(512, 8192))),
                              CONFIG["subject"], CONFIG["structure"])
        body, content_type = td21_request(build_submission(spec, SEAL), security=VIHF(self.patient.cx())).to_http()
        self._post("TD2.1", "repository", body, content_type, check=lambda answer: answer.status == SUCCESS)
        self.fed.append(spec.unique_id)

    @task(4)
    def td31_find(self) -> None:
        query = find_documents(self.patient.cx(), statuses=[Status.APPROVED])
        body, content_type = td31_request(query, security=VIHF(self.patient.cx())).to_http()
        self._post("TD3.1", "registry", body, content_type, check=lambda answer: answer.status == SUCCESS)

    @task(2)
    def td32_retrieve(self) -> None:
        if not self.fed:
            return self.td21_feed()
        request = td32_request([random.choice(self.fed)], repository_unique_id=CONFIG["repository_id"],
                               security=VIHF(self.patient.cx()))
        body, content_type = request.to_http()
        self._post("TD3.2", "repository", body, content_type,
                   check=lambda answer: answer.response.success and len(answer.documents) == 1)
        return None


def _problem(status: int, content: bytes, content_type: str, check: Any) -> str | None:
    """Why an answer is a failure (HTTP status, SOAP fault, unreadable, refused), or None."""
    if status != 200:
        return f"HTTP {status}"
    try:
        message = parse_message(content, content_type)
    except SoapError as exc:
        return f"unreadable answer: {exc.message}"
    if message.fault is not None:
        return f"SOAP fault {message.fault.code}: {message.fault.reason}"
    if check is not None and not check(parse_body(message)):
        return "the DMP refused the request"
    return None


# Importing the bench and loading keys blocks for seconds before gevent's loop runs: refresh its cached clock, or
# locust's --run-time timer (scheduled on that clock) fires that much too early.
gevent.get_hub().loop.update_now()
