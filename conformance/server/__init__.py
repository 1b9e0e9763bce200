"""The reference DMP: an ASGI app speaking the DMP protocol (SOAP 1.2/MTOM, XDS.b, HL7 v3, DMP SOAP services).

* :func:`conformance.server.app.create_app` ``(settings, store=None)`` — the FastAPI app (SOAP endpoints routed
  on ``wsa:Action``, the FHIR PDSm API under ``/fhir``, capture API, access history, optional admin API);
* :class:`conformance.server.settings.ServerSettings` — database URL, VIHF trust store, lenient signatures, the
  DMP LPS package whose annex XSDs check the captured requests…;
* :mod:`conformance.server.access` — the access rules as pure functions returning a :class:`Decision`;
* :mod:`conformance.server.routing` — ``handle_soap(data, content_type, settings, store, tls_client=None)``, usable
  without HTTP: reads the SOAP 1.2 / MTOM message, routes it on ``wsa:Action``, authenticates the VIHF (against
  the mutual-TLS client certificate when given), runs the DMP service and returns a :class:`SoapOutcome` (HTTP
  status, response bytes and content type, transaction, outcome, VIHF identity, findings). It never raises: a
  refusal is a SOAP fault, a defect of the server a ``Receiver`` fault with status 500. The transport validators
  run later, on the capture (``ServerSettings.validate_requests``);
* :mod:`conformance.server.seed` — seeding patients, professionals and authorizations.
"""
