"""The reference DMP: an ASGI app speaking the DMP protocol (SOAP 1.2/MTOM, XDS.b, HL7 v3, DMP SOAP services).

* :func:`conformance.server.app.create_app` ``(settings, store=None)`` — the FastAPI app (SOAP endpoints routed
  on ``wsa:Action``, capture API, access history, optional admin API);
* :class:`conformance.server.settings.ServerSettings` — database URL, VIHF trust store, lenient signatures…;
* :mod:`conformance.server.access` — the access rules as pure functions returning a :class:`Decision`;
* :mod:`conformance.server.routing` — ``handle_soap(bytes, content_type, settings, store)``, usable without HTTP;
* :mod:`conformance.server.seed` — seeding patients, professionals and authorizations.
"""
