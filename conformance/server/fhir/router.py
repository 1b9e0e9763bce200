"""The FHIR PDSm API of the reference DMP under ``/fhir``: :func:`fhir_router` (mounted by ``create_app``).

Every answer that is not a success is an OperationOutcome (400 malformed, 401 no/invalid token, 403 refused,
404 unknown, 405 PATCH outside securityLabel/status/isArchived, 409 duplicate uniqueId, 412 failed
precondition, 413 body too large, 422 invalid against PDSm or refused by the store). Every exchange is captured
with the SOAP ones (``GET /captures``), transaction ``ITI-65``, ``ITI-66``, ``ITI-67``, ``ITI-68``, ``ITI-105``
or ``PDSm-PATCH``. Authentication: :mod:`conformance.server.fhir.auth`.

Bodies are FHIR JSON or XML (read by their content); answers are XML when ``_format`` or Accept (q-values, then
order) prefer it. ITI-66 returns SubmissionSet and Folder Lists (``code``). String parameters (``title``,
``author.given``…) take the ``:exact`` and ``:contains`` modifiers; references (``author``, ``source``,
``authorOrg``) name professionals and organisations by their national id (``Practitioner/<idNat>``).
"""

# No ``from __future__ import annotations``: FastAPI resolves the dependency aliases defined in fhir_router.
import json
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from conformance.findings import Severity
from conformance.server.access import Caller
from conformance.server.fhir import services
from conformance.server.fhir.auth import (
    TokenError,
    caller_of_certificate,
    caller_of_token,
    client_certificate,
    issue_token,
)
from conformance.server.fhir.openapi import (
    BINARY_RESPONSES,
    BUNDLE_BODY,
    DOCUMENT_REFERENCE_BODY,
    JSON_PATCH_BODY,
    READ_RESPONSES,
    SEARCH_POST_RESPONSES,
    SEARCH_RESPONSES,
    TOKEN_RESPONSES,
    TRANSACTION_RESPONSES,
    WRITE_RESPONSES,
    capability_statement,
    search_form_body,
)
from conformance.server.fhir.outcome import (
    FHIR_JSON,
    FHIR_XML,
    FhirError,
    error_response,
    fhir_response,
    wants_xml,
)
from conformance.server.settings import ServerSettings
from conformance.store import Store

log = logging.getLogger(__name__)

FHIR_ID = r"^[A-Za-z0-9\-\.]{1,64}$"
TOKEN = r"^\S(.{0,254}\S)?$"  # FHIR token search value: system|code, |code or code (no edge whitespace)
DATE = r"^(eq|gt|lt|ge|le|sa|eb|ap)?[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?" \
       r"(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$"
INS_IDENTIFIER = r"^urn:oid:1\.2\.250\.1\.213\.1\.4\.(8|9|10|11)\|[0-9A-Za-z]{1,32}$"
PATIENT = r"^(Patient/)?[0-9A-Za-z]{1,32}$"
REFERENCE = r"^([A-Z][A-Za-z]{1,63}/)?[0-9A-Za-z\-\.]{1,64}$"  # Type/id or id (the id is a national id)
ResourceId = Annotated[str, Path(pattern=FHIR_ID, examples=["8f1b6a2e-3c4d-4e5f-9a0b-1c2d3e4f5a6b"])]
Tokens = Annotated[list[str] | None, Query(min_length=1)]
References = Annotated[list[Annotated[str, Query(pattern=REFERENCE)]] | None, Query()]


def _strings(alias: str) -> Any:
    """A FHIR string parameter (its ``:exact`` / ``:contains`` forms are read from the query string)."""
    return Query(alias=alias, min_length=1)
TRANSACTIONS = {"provide_bundle": "ITI-65", "search_lists": "ITI-66", "search_lists_by_post": "ITI-66",
                "read_list": "ITI-66",
                "search_document_references": "ITI-67", "search_document_references_by_post": "ITI-67", "read_document_reference": "ITI-67",
                "read_binary": "ITI-68", "publish_document_reference": "ITI-105",
                "conditional_update_document_reference": "ITI-105",
                "patch_document_reference": "PDSm-PATCH", "conditional_patch_document_reference": "PDSm-PATCH",
                "metadata": "metadata"}
UNCAPTURED = {"issue_token"}  # a bearer token must not be readable from /captures


class TokenRequest(BaseModel):
    """Claims of a test token (see :mod:`conformance.server.fhir.auth`)."""

    sub: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    structure: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=64)
    auth_mode: str = Field(default="DIRECTE", pattern="^(DIRECTE|INDIRECTE|INDIRECTE_RENFORCEE)$")
    access_mode: str = Field(default="normal", pattern="^(normal|break_glass|regulation)$")
    kind: str = Field(default="professional", pattern="^(professional|patient|legal_representative)$")
    lifetime: int = Field(default=3600, ge=1, le=86400)


def fhir_router(settings: ServerSettings, the_store: Callable[[], Store],
                read_body: Callable[[Request], Coroutine[Any, Any, bytes]]) -> APIRouter:
    """The ``/fhir`` routes. ``the_store`` gives the open store; ``read_body`` reads a request body within the
    server's size and time limits (raising on excess)."""
    key = secrets.token_bytes(32)  # token MAC key: tokens die with the server

    class FhirRoute(APIRoute):
        """Turns every error into an OperationOutcome and captures the exchange."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            transaction = TRANSACTIONS.get(self.name, self.name)
            capture = self.name not in UNCAPTURED

            async def route(request: Request) -> Response:
                started, at = time.perf_counter(), datetime.now().astimezone()
                data = b""
                xml = wants_xml(request.query_params, request.headers.get("accept", ""))
                try:
                    if request.method in ("POST", "PUT", "PATCH"):
                        data = await read_body(request)
                        request._body = data  # the handler reads the bounded body again
                    response = await handler(request)
                except FhirError as exc:
                    response = error_response(exc, xml)
                except RequestValidationError as exc:
                    response = error_response(FhirError(400, "; ".join(
                        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())[:2000]),
                        xml)
                except StarletteHTTPException as exc:
                    response = error_response(FhirError(exc.status_code, str(exc.detail)), xml)
                except TimeoutError:
                    response = error_response(FhirError(408, "request body not received in time"), xml)
                except Exception as exc:
                    from conformance.server.app import _BodyTooLarge  # app.py mounts this router: import late

                    if isinstance(exc, _BodyTooLarge):
                        too_large = FhirError(413, f"body larger than {settings.max_body_bytes} bytes")
                        response = error_response(too_large, xml)
                    else:
                        log.exception("FHIR %s %s failed", request.method, request.url.path)
                        response = error_response(FhirError(500, f"internal error: {type(exc).__name__}"), xml)
                if capture:
                    capture_id = await run_in_threadpool(_capture, request, data, response, transaction, started, at)
                    if capture_id is not None:
                        response.headers["x-capture-id"] = str(capture_id)
                return response

            return route

    def _capture(request: Request, data: bytes, response: Response, transaction: str, started: float,
                 at: datetime) -> int | None:
        try:
            store = the_store()
        except Exception:
            return None
        caller: Caller | None = getattr(request.state, "caller", None)
        findings = getattr(request.state, "findings", [])
        peer = f"{request.client.host}:{request.client.port}" if request.client else None
        headers = {k: ("Bearer <redacted>" if k == "authorization" else v) for k, v in request.headers.items()}
        body = bytes(getattr(response, "body", b""))
        row = store.add_capture(
            started_at=at, duration_ms=round((time.perf_counter() - started) * 1000, 3), peer=peer,
            method=request.method, path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            action=f"FHIR {request.method} {transaction}", transaction=transaction, request_headers=headers,
            request_body=data, status_code=response.status_code,
            response_headers={"content-type": response.headers.get("content-type", "")}, response_body=body,
            identity={"subject": caller.actor_id, "structure": caller.structure_id, "mode": caller.auth_mode.value}
            if caller else None, findings=[f.to_dict() for f in findings],
            outcome="Success" if response.status_code < 400 else f"HTTP {response.status_code}",
            validated_at=datetime.now().astimezone())  # FHIR payloads are validated while answering

        return row.id

    router = APIRouter(prefix="/fhir", route_class=FhirRoute, tags=["FHIR PDSm"])
    bearer = HTTPBearer(auto_error=False, description="v1.<claims>.<mac> from POST /fhir/_token (see the docs)")

    def caller(request: Request,
               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
        header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
        certificate = client_certificate(request.scope) if header is None else None
        try:
            who = caller_of_certificate(certificate) if certificate else \
                caller_of_token(header, key, lenient=settings.lenient_signatures)
        except TokenError as exc:
            raise FhirError(401, str(exc)) from exc
        request.state.caller = who
        return who

    Authenticated = Annotated[Caller, Depends(caller)]

    def call(request: Request, who: Caller, transaction: str = "TD3.1") -> services.FhirCall:
        base = str(request.base_url).rstrip("/") + "/fhir"
        made = services.FhirCall(the_store(), settings, who, base, transaction)
        request.state.findings = made.findings
        return made

    async def payload(request: Request, what: str) -> Any:
        """The parsed body (FHIR JSON or XML, whatever the Content-Type says), or 400 when it is neither."""
        from conformance.fhir import parse_fhir

        parsed = await run_in_threadpool(parse_fhir, await request.body())
        if parsed.resource is None:
            raise FhirError(400, f"the body is not a readable {what}", findings=parsed.findings)
        return parsed

    async def validated(request: Request, expected: str, profiles: list[str] | None = None) -> dict[str, Any]:
        from conformance.fhir import default_validator
        from conformance.findings import ArtefactResult

        parsed = await payload(request, expected)
        if parsed.resource.get("resourceType") != expected:
            raise FhirError(400, f"expected a {expected}, got {parsed.resource.get('resourceType')!r}",
                            findings=parsed.findings)
        result = ArtefactResult(path=request.url.path, kind="fhir", findings=list(parsed.findings))
        result = await run_in_threadpool(default_validator().validate_resource, parsed, result, profiles=profiles)
        request.state.findings = result.findings
        errors = [f for f in result.findings if f.severity is Severity.ERROR]
        if errors:
            raise FhirError(422, f"the {expected} is not valid against PDSm ({len(errors)} errors)",
                            findings=result.findings)
        return parsed.resource  # type: ignore[no-any-return]

    async def form_parameters(request: Request) -> dict[str, list[str]]:
        """``POST _search``: the parameters of the query string and of the form body together."""
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        return {**parse_qs(request.url.query), **form}

    def respond(request: Request, resource: dict[str, Any], status: int = 200,
                headers: dict[str, str] | None = None) -> Response:
        """JSON, or XML when ``_format`` / Accept ask for it."""
        return fhir_response(resource, status, headers, wants_xml(request.query_params,
                                                                  request.headers.get("accept", "")))

    @router.get("/metadata", name="metadata", summary="CapabilityStatement of the reference DMP",
                responses=READ_RESPONSES)
    async def metadata(request: Request) -> Response:
        return respond(request, capability_statement(str(request.base_url).rstrip("/") + "/fhir"))

    @router.post("/_token", name="issue_token", summary="Test token (admin/test API only)",
                 responses=TOKEN_RESPONSES)
    async def token(body: TokenRequest) -> Response:
        if not settings.admin_enabled:
            raise FhirError(404, "token issuance is disabled (start the server with the admin/test API on)")
        claims = body.model_dump(exclude={"lifetime"}, exclude_none=True)
        try:
            value = issue_token(key, claims, body.lifetime)
        except TokenError as exc:
            raise FhirError(400, str(exc)) from exc
        return Response(json.dumps({"access_token": value, "token_type": "Bearer", "expires_in": body.lifetime}),
                        media_type="application/json")

    @router.post("", name="provide_bundle", summary="ITI-65 Provide Document Bundle (transaction)",
                 responses=TRANSACTION_RESPONSES, openapi_extra={"requestBody": BUNDLE_BODY})
    async def provide(request: Request, who: Authenticated) -> Response:
        bundle = await validated(request, "Bundle")
        if bundle.get("type") != "transaction":
            raise FhirError(400, f"Bundle.type must be transaction, not {bundle.get('type')!r}",
                            expression="Bundle.type")
        answer = await run_in_threadpool(services.provide_bundle, call(request, who, "TD2.1"), bundle)
        return respond(request, answer)

    # ``[base]/`` too: clients joining paths to the base often add the slash
    router.add_api_route("/", provide, methods=["POST"], name="provide_bundle", include_in_schema=False)

    @router.get("/DocumentReference", name="search_document_references",
                summary="ITI-67 Find Document References", responses=SEARCH_RESPONSES)
    async def search_documents(
            request: Request, who: Authenticated,
            patient: Annotated[str | None, Query(pattern=PATIENT)] = None,
            patient_identifier: Annotated[str | None, Query(alias="patient.identifier", pattern=INS_IDENTIFIER)]
            = None,
            status: Annotated[list[str] | None, Query(min_length=1)] = None,
            identifier: Tokens = None, type: Tokens = None, category: Tokens = None,
            setting: Tokens = None, facility: Tokens = None,
            format: Tokens = None,
            security_label: Annotated[list[str] | None, Query(alias="security-label", min_length=1)] = None,
            event: Tokens = None,
            date: Annotated[list[Annotated[str, Query(pattern=DATE)]] | None, Query()] = None,
            creation: Annotated[list[Annotated[str, Query(pattern=DATE)]] | None, Query()] = None,
            period: Annotated[list[Annotated[str, Query(pattern=DATE)]] | None, Query()] = None,
            period_start: Annotated[list[Annotated[str, Query(pattern=DATE)]] | None,
                                    Query(alias="period-start")] = None,
            period_end: Annotated[list[Annotated[str, Query(pattern=DATE)]] | None, Query(alias="period-end")] = None,
            is_archived: Annotated[str | None, Query(alias="isArchived", pattern="^(true|false)$")] = None,
            relatesto: Tokens = None, related: Tokens = None, author: References = None,
            author_identifier: Annotated[list[str] | None, Query(alias="author.identifier", min_length=1)] = None,
            author_given: Annotated[list[str] | None, _strings("author.given")] = None,
            author_family: Annotated[list[str] | None, _strings("author.family")] = None,
            count: Annotated[int | None, Query(alias="_count", ge=0, le=1000)] = None) -> Response:
        # the declared parameters validate the query and document it; they are read as POST _search reads them
        search = services.DocumentSearch.from_parameters(parse_qs(request.url.query))
        answer = await run_in_threadpool(services.search_documents, call(request, who), search, str(request.url))
        return respond(request, answer)

    @router.post("/DocumentReference/_search", name="search_document_references_by_post",
                 summary="ITI-67 Find Document References by POST (form body)", responses=SEARCH_POST_RESPONSES,
                 openapi_extra={"requestBody": search_form_body("DocumentReference")})
    async def search_documents_by_post(request: Request, who: Authenticated) -> Response:
        search = services.DocumentSearch.from_parameters(await form_parameters(request))
        answer = await run_in_threadpool(services.search_documents, call(request, who), search, str(request.url))
        return respond(request, answer)

    @router.get("/DocumentReference/{rid}", name="read_document_reference", summary="Read a DocumentReference",
                responses=READ_RESPONSES)
    async def read_document(request: Request, who: Authenticated, rid: ResourceId) -> Response:
        return respond(request, await run_in_threadpool(services.read_document, call(request, who), rid))

    @router.post("/DocumentReference", name="publish_document_reference", status_code=201,
                 summary="ITI-105 Simplified Publish", responses=WRITE_RESPONSES,
                 openapi_extra={"requestBody": DOCUMENT_REFERENCE_BODY})
    async def publish(request: Request, who: Authenticated) -> Response:
        from conformance.fhir.validator import ITI105

        resource = await validated(request, "DocumentReference", [ITI105])
        created = await run_in_threadpool(services.publish, call(request, who, "TD2.1"), resource)
        return respond(request, created, 201, {"location": f"DocumentReference/{created['id']}/_history/"
                                                        f"{created['meta']['versionId']}"})

    @router.put("/DocumentReference", name="conditional_update_document_reference", status_code=201,
                summary="Replacement by conditional update: the new document (ITI-105 body) supersedes the one "
                        "whose identifier is given", responses=WRITE_RESPONSES,
                openapi_extra={"requestBody": DOCUMENT_REFERENCE_BODY})
    async def conditional_update(request: Request, who: Authenticated,
                                 identifier: Annotated[str, Query(pattern=TOKEN)]) -> Response:
        from conformance.fhir.validator import ITI105

        resource = await validated(request, "DocumentReference", [ITI105])
        made = call(request, who, "TD2.1")
        replaced = await run_in_threadpool(services.resolve_identifier, made, identifier)
        relation = {"code": "replaces", "target": {"reference": f"DocumentReference/{replaced}"}}
        if relation not in (resource.get("relatesTo") or []):
            resource["relatesTo"] = [*(resource.get("relatesTo") or []), relation]
        created = await run_in_threadpool(services.publish, made, resource)
        return respond(request, created, 201, {"location": f"DocumentReference/{created['id']}/_history/1"})

    async def patch(request: Request, who: Caller, rid: str) -> Response:
        """JSON Patch, or FHIRPath Patch (a Parameters resource in FHIR JSON or XML)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        fhirpath = content_type in (FHIR_JSON, FHIR_XML)
        if fhirpath:
            operations = (await payload(request, "FHIRPath Patch Parameters")).resource
        elif content_type in ("application/json-patch+json", "application/json"):
            try:
                operations = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError) as exc:
                raise FhirError(400, "the PATCH body is not JSON") from exc
        else:
            raise FhirError(415, f"PATCH body must be application/json-patch+json (JSON Patch) or "
                            f"application/fhir+json / application/fhir+xml (FHIRPath Patch), not {content_type!r}")
        updated = await run_in_threadpool(services.patch_document, call(request, who, "TD3.3"), rid, operations,
                                          fhirpath)
        return respond(request, updated)

    @router.patch("/DocumentReference/{rid}", name="patch_document_reference",
                  summary="Metadata update: securityLabel (mask, visibility), isArchived, status (JSON Patch or "
                          "FHIRPath Patch)",
                  responses=WRITE_RESPONSES, openapi_extra={"requestBody": JSON_PATCH_BODY})
    async def patch_document(request: Request, who: Authenticated, rid: ResourceId) -> Response:
        return await patch(request, who, rid)

    @router.patch("/DocumentReference", name="conditional_patch_document_reference",
                  summary="Conditional metadata update on the business identifier (PDSm st_maj)",
                  responses=WRITE_RESPONSES, openapi_extra={"requestBody": JSON_PATCH_BODY})
    async def conditional_patch(request: Request, who: Authenticated,
                                identifier: Annotated[str, Query(pattern=TOKEN)]) -> Response:
        rid = await run_in_threadpool(services.resolve_identifier, call(request, who, "TD3.3"), identifier)
        return await patch(request, who, rid)

    @router.get("/Binary/{rid}", name="read_binary", summary="ITI-68 Retrieve Document (raw bytes)",
                responses=BINARY_RESPONSES)
    async def read_binary(request: Request, who: Authenticated, rid: ResourceId) -> Response:
        content, mime = await run_in_threadpool(services.read_binary, call(request, who, "TD3.2"), rid)
        accept = request.headers.get("accept", "")
        if FHIR_JSON in accept or FHIR_XML in accept or request.query_params.get("_format"):
            import base64  # PDSM4DMP TD3.2: a FHIR media type asks for a Binary resource (JSON or XML)
            return respond(request, {"resourceType": "Binary", "id": rid, "contentType": mime,
                                  "data": base64.b64encode(content).decode("ascii")})
        return Response(content, headers={"content-type": mime})  # as stored: no charset added

    @router.get("/List", name="search_lists", summary="ITI-66 Find Document Lists", responses=SEARCH_RESPONSES)
    async def search_lists(
            request: Request, who: Authenticated,
            patient: Annotated[str | None, Query(pattern=PATIENT)] = None,
            patient_identifier: Annotated[str | None, Query(alias="patient.identifier", pattern=INS_IDENTIFIER)]
            = None,
            code: Tokens = None, status: Tokens = None, identifier: Tokens = None,
            designation_type: Annotated[list[str] | None, Query(alias="designationType", min_length=1)] = None,
            source_id: Annotated[list[str] | None, Query(alias="sourceId", min_length=1)] = None,
            date: Annotated[list[Annotated[str, Query(pattern=DATE)]] | None, Query()] = None,
            is_archived: Annotated[str | None, Query(alias="isArchived", pattern="^(true|false)$")] = None,
            title: Annotated[list[str] | None, _strings("title")] = None, source: References = None,
            source_given: Annotated[list[str] | None, _strings("source.given")] = None,
            source_family: Annotated[list[str] | None, _strings("source.family")] = None,
            author_org: Annotated[list[Annotated[str, Query(pattern=REFERENCE)]] | None, Query(alias="authorOrg")]
            = None) -> Response:
        search = services.ListSearch.from_parameters(parse_qs(request.url.query))  # as search_documents
        answer = await run_in_threadpool(services.search_lists, call(request, who), search, str(request.url))
        return respond(request, answer)

    @router.post("/List/_search", name="search_lists_by_post",
                 summary="ITI-66 Find Document Lists by POST (form body)", responses=SEARCH_POST_RESPONSES,
                 openapi_extra={"requestBody": search_form_body("List")})
    async def search_lists_by_post(request: Request, who: Authenticated) -> Response:
        search = services.ListSearch.from_parameters(await form_parameters(request))
        answer = await run_in_threadpool(services.search_lists, call(request, who), search, str(request.url))
        return respond(request, answer)

    @router.get("/List/{rid}", name="read_list", summary="Read a SubmissionSet or Folder List",
                responses=READ_RESPONSES)
    async def read_list(request: Request, who: Authenticated, rid: ResourceId) -> Response:
        return respond(request, await run_in_threadpool(services.read_list, call(request, who), rid))

    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                      name="unsupported", include_in_schema=False)
    async def unsupported(request: Request, rest: str) -> Response:
        known = rest.split("/", 1)[0] in ("DocumentReference", "List", "Binary", "metadata", "_token", "")
        raise FhirError(405 if known else 404, f"{request.method} /fhir/{rest} is not an interaction of this "
                        "server (see GET /fhir/metadata)")

    router.token_key = key  # type: ignore[attr-defined]  # in-process tests and the embedded DMP issue tokens
    return router
