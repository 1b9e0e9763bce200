"""The FHIR PDSm API of the reference DMP (ITI-65, ITI-66, ITI-67, ITI-68, ITI-105, metadata PATCH) on the same
store and access rules as the SOAP services. :func:`mount_fhir` adds it to the app."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from conformance.server.fhir.auth import TokenError, caller_of_token, issue_token, unsigned_token
from conformance.server.fhir.openapi import fhir_openapi
from conformance.server.fhir.router import fhir_router
from conformance.server.settings import ServerSettings
from conformance.store import Store


def mount_fhir(app: FastAPI, settings: ServerSettings, the_store: Callable[[], Store],
               read_body: Callable[[Request], Coroutine[Any, Any, bytes]]) -> None:
    """Mount ``/fhir`` and ``/fhir/openapi.json``; the token key is kept as ``app.state.fhir_token_key``."""
    router = fhir_router(settings, the_store, read_body)

    @app.get("/fhir/openapi.json", include_in_schema=False)  # before the router's catch-all
    def fhir_document() -> JSONResponse:
        return JSONResponse(fhir_openapi(app.openapi()))

    app.include_router(router)
    app.state.fhir_token_key = router.token_key  # type: ignore[attr-defined]


__all__ = ["TokenError", "caller_of_token", "fhir_openapi", "issue_token", "mount_fhir", "unsigned_token"]
