"""The XAdES signature document of a TD2.1 submission: build it, check it.

The DMP expects, beside the documents of an ITI-41 submission, one more document: an XML-DSig/XAdES signature
whose ``ds:Manifest Id="IHEManifest"`` lists every document by ``urn:oid:<uniqueId>`` with its digest, plus the
SubmissionSet (IHE DSG-like); SignedInfo signs the manifest and the XAdES SignedProperties
(``TD2.1-SignatureXades.xml`` of the official examples shows the shape).
"""

from conformance.xades.document import (
    MANIFEST_ID,
    PURPOSE_OF_SIGNATURE,
    XadesCheck,
    build_signature_document,
    check_signature_document,
)

__all__ = ["MANIFEST_ID", "PURPOSE_OF_SIGNATURE", "XadesCheck", "build_signature_document",
           "check_signature_document"]
