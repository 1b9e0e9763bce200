"""The reference DMP as an ASGI app: ``create_app(settings)``.

* ``GET /health``: 200 once the store is open.
* ``POST /si-dmp-server/v2/services/{alias}`` (and the ``/v1``, ``/v2`` short forms): every SOAP service; the
  alias is checked against the known service paths but routing uses ``wsa:Action``.
* ``GET /captures`` (filters), ``GET /captures/{id}`` (with findings), ``GET /captures/{id}/request|response``
  (raw bytes): every exchange is captured with its timing, peer, VIHF identity and findings.
* ``GET /history``: the access history of a patient (every access, allowed or denied).
* ``/admin/*``: seeding and reset, only when ``settings.admin_enabled``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from conformance.identity import INS_NIR_TEST_OID
from conformance.server.errors import DmpFault
from conformance.server.routing import SoapOutcome, fault_outcome, handle_soap
from conformance.server.seed import PatientSeed, seed_patient
from conformance.server.settings import ServerSettings
from conformance.server.tls import client_certificate
from conformance.store import AuthorizationStatus, Capture, Store

log = logging.getLogger(__name__)

SERVICE_ALIASES = frozenset({
    "registry", "DocumentRegistry_Service", "repository", "DocumentRepository_Service", "patient", "patients",
    "Habilitation", "habilitation", "habilitations", "Habilitations", "PatientSpecific", "gdp", "GDP_Service",
    "pdq", "PDQ", "PDQSupplier_Service", "patientCertif",
})
MAX_ID = 2**63 - 1  # SQL BIGINT: larger ids cannot exist and must not reach the database
CaptureId = Annotated[int, Path(ge=1, le=MAX_ID)]
SERVICE_PREFIXES = ("/si-dmp-server/v2/services", "/si-dmp-server/v1/services", "/v2/services", "/v1/services")


class _BodyTooLarge(Exception):
    pass


async def _read_body_in_time(request: Request, limit: int, seconds: float) -> bytes:
    """:func:`_read_body` within ``seconds`` in total: a client trickling its body cannot hold a worker."""
    async with asyncio.timeout(seconds):
        return await _read_body(request, limit)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it exceeds ``limit`` (never buffered beyond it)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _summary(capture: Capture) -> dict[str, Any]:
    return {"id": capture.id, "started_at": capture.started_at.isoformat(), "duration_ms": capture.duration_ms,
            "peer": capture.peer, "method": capture.method, "path": capture.path, "action": capture.action,
            "transaction": capture.transaction, "status_code": capture.status_code, "outcome": capture.outcome,
            "identity": capture.identity, "finding_count": len(capture.findings or []),
            "validated": capture.validated_at is not None}


def _validate_capture(store: Store, capture_id: int, data: bytes, path: str, content_type: str | None,
                      settings: ServerSettings) -> None:
    """Run the transport validators on a captured request (after the response went out)."""
    from conformance.validation import ValidationContext, kinds, validate_bytes
    from conformance.vihf import VihfPolicy

    if not any(kind.name == "soap" for kind in kinds()):
        return
    policy = VihfPolicy(trust=list(settings.trust), lenient=settings.lenient_signatures)
    context = ValidationContext(profiles_dir=settings.profiles_dir, lenient=settings.lenient_mime,
                                options={"content_type": content_type, "vihf_policy": policy,
                                         "dmp_lps_package": settings.dmp_lps_package})
    try:
        result = validate_bytes(data, path, context, kind="soap")
    except Exception:  # a validator defect must not lose the capture
        log.exception("validator failed on capture %s", capture_id)
        return
    capture = store.capture(capture_id)
    if capture is not None:
        store.update_capture(capture_id, findings=[*capture.findings, *(f.to_dict() for f in result.findings)],
                             validated_at=datetime.now().astimezone())


class AuthorizationSeed(BaseModel):
    professional: str
    status: AuthorizationStatus = AuthorizationStatus.GRANTED
    attending: bool = False


class PatientBody(BaseModel):
    ins: str = Field(min_length=1, max_length=32)
    ins_oid: str = Field(default=INS_NIR_TEST_OID, min_length=1, max_length=64)
    family_name: str = ""
    given_name: str = ""
    birth_date: str | None = None
    gender: str | None = None
    minor: bool = False
    attached_to_mes: bool = True
    traits: dict[str, Any] = Field(default_factory=dict)
    authorizations: list[AuthorizationSeed] = Field(default_factory=list)


class ProfessionalBody(BaseModel):
    id_nat: str = Field(min_length=1, max_length=64)
    family_name: str = ""
    given_name: str = ""
    role_code: str | None = None
    specialty_code: str | None = None
    specialty_label: str | None = None
    structure_id_nat: str | None = None


def create_app(settings: ServerSettings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    state: dict[str, Any] = {"ready": False}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["store"] = store or await run_in_threadpool(Store.open, settings.db_url)
        state["ready"] = True
        yield
        state["ready"] = False
        if store is None:
            state["store"].close()

    app = FastAPI(title="dmp-conformance reference DMP", lifespan=lifespan,
                  description="Reference DMP server of the dmp-conformance bench: capture and admin APIs "
                              "(the SOAP services are not described by this document).")
    app.state.settings = settings

    def the_store() -> Store:
        if not state["ready"]:
            raise HTTPException(503, "the reference DMP is starting")
        return state["store"]  # type: ignore[no-any-return]

    @app.get("/health")
    async def health() -> JSONResponse:
        if not state["ready"]:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok", "lenient_signatures": settings.lenient_signatures})

    async def soap_endpoint(request: Request, alias: str) -> Response:
        started, at = time.perf_counter(), datetime.now().astimezone()
        store = the_store()
        data = b""
        if alias not in SERVICE_ALIASES:
            outcome = fault_outcome(DmpFault(f"unknown DMP service path {alias!r}", subcode="DMPUnknownService",
                                      status=404), None, None, [])
        else:
            try:
                data = await _read_body_in_time(request, settings.max_body_bytes, settings.body_timeout_seconds)
            except _BodyTooLarge:
                outcome = fault_outcome(DmpFault(f"request body larger than {settings.max_body_bytes} bytes",
                                          subcode="DMPMessageTooLarge", status=413), None, None, [])
            except TimeoutError:
                outcome = fault_outcome(DmpFault(f"request body not received within {settings.body_timeout_seconds} s",
                                          subcode="DMPRequestTimeout", status=408), None, None, [])
            else:
                outcome = await run_in_threadpool(handle_soap, data, request.headers.get("content-type"),
                                                  settings, store, client_certificate(request.scope))
        capture_id = await run_in_threadpool(_capture, store, request, data, outcome, started, at)
        task = BackgroundTask(_validate_capture, store, capture_id, data, request.url.path,
                              request.headers.get("content-type"), settings) \
            if settings.validate_requests and data else None
        return Response(outcome.body, status_code=outcome.status, media_type=None,
                        headers={"content-type": outcome.content_type, "x-capture-id": str(capture_id)},
                        background=task)

    for prefix in SERVICE_PREFIXES:
        app.add_api_route(f"{prefix}/{{alias}}", soap_endpoint, methods=["POST"], include_in_schema=False)

    def _capture(store: Store, request: Request, data: bytes, outcome: SoapOutcome, started: float,
                 at: datetime) -> int:
        peer = f"{request.client.host}:{request.client.port}" if request.client else None
        # the client chooses the path and wsa:Action: clipped to the column widths (PostgreSQL enforces them)
        row = store.add_capture(
            started_at=at, duration_ms=round((time.perf_counter() - started) * 1000, 3), peer=peer,
            method=request.method, path=request.url.path[:512], action=outcome.action and outcome.action[:255],
            transaction=outcome.transaction,
            request_headers=dict(request.headers), request_body=data, status_code=outcome.status,
            response_headers={"content-type": outcome.content_type}, response_body=outcome.body,
            identity=outcome.identity, findings=[f.to_dict() for f in outcome.findings],
            outcome=outcome.outcome and outcome.outcome[:128])
        return row.id

    @app.get("/captures")
    def list_captures(action: str | None = None, transaction: str | None = None, peer: str | None = None,
                      since: datetime | None = None, status_code: int | None = Query(None, ge=100, le=599),
                      after_id: int | None = Query(None, ge=0, le=MAX_ID),
                      limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        rows = the_store().captures(action=action, transaction=transaction, peer=peer, status_code=status_code,
                                    since=since, after_id=after_id, limit=limit)
        return [_summary(c) for c in rows]

    def _one(capture_id: int) -> Capture:
        capture = the_store().capture(capture_id)
        if capture is None:
            raise HTTPException(404, f"no capture {capture_id}")
        return capture

    @app.get("/captures/{capture_id}")
    def get_capture(capture_id: CaptureId) -> dict[str, Any]:
        capture = _one(capture_id)
        return {**_summary(capture), "request_headers": capture.request_headers,
                "response_headers": capture.response_headers, "findings": capture.findings,
                "request": f"/captures/{capture_id}/request", "response": f"/captures/{capture_id}/response"}

    @app.get("/captures/{capture_id}/request")
    def capture_request(capture_id: CaptureId) -> Response:
        capture = _one(capture_id)
        return Response(capture.request_body,
                        media_type=capture.request_headers.get("content-type", "application/octet-stream"))

    @app.get("/captures/{capture_id}/response")
    def capture_response(capture_id: CaptureId) -> Response:
        capture = _one(capture_id)
        return Response(capture.response_body,
                        media_type=capture.response_headers.get("content-type", "application/octet-stream"))

    @app.get("/history")
    def history(patient: str | None = None, actor: str | None = None,
                limit: int = Query(1000, ge=1, le=10000)) -> list[dict[str, Any]]:
        rows = the_store().access_history(patient_id=patient, actor_id=actor, limit=limit)
        return [{"at": h.at.isoformat(), "patient": h.patient_id, "actor": h.actor_id, "structure": h.actor_structure,
                 "role": h.actor_role, "transaction": h.transaction, "action": h.action, "mode": h.mode,
                 "target": h.target, "outcome": h.outcome, "detail": h.detail} for h in rows]

    def _admin() -> Store:
        if not settings.admin_enabled:
            raise HTTPException(404, "admin endpoints are disabled (start the server with admin enabled)")
        return the_store()

    @app.post("/admin/patients", status_code=201)
    def admin_patient(body: PatientBody) -> dict[str, Any]:
        store = _admin()
        if store.patient(body.ins, body.ins_oid) is not None:
            raise HTTPException(409, f"patient {body.ins} already exists")
        patient = seed_patient(store, PatientSeed(
            ins=body.ins, ins_oid=body.ins_oid, family_name=body.family_name, given_name=body.given_name,
            birth_date=body.birth_date, gender=body.gender, minor=body.minor, attached_to_mes=body.attached_to_mes,
            traits=body.traits, authorizations=[(a.professional, a.status, a.attending) for a in body.authorizations]))
        return {"id": patient.id, "cx": patient.cx}

    @app.post("/admin/professionals", status_code=201)
    def admin_professional(body: ProfessionalBody) -> dict[str, Any]:
        professional = _admin().upsert_professional(**body.model_dump())
        return {"id": professional.id, "id_nat": professional.id_nat}

    @app.delete("/admin/captures")
    def admin_purge() -> dict[str, int]:
        return {"deleted": _admin().purge_captures()}

    from conformance.server.fhir import mount_fhir  # the FHIR PDSm API, same store and access rules

    mount_fhir(app, settings, the_store,
               lambda request: _read_body_in_time(request, settings.max_body_bytes, settings.body_timeout_seconds))
    return app
