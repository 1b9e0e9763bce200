"""Hypothesis strategies for the bench: synthetic people, XDS submissions consistent with their documents,
VIHF assertions in every authentication mode, FHIR bundles, and mutations that break exactly one rule and name
the error the DMP must answer (``Mutation.expected``).

The builders (:func:`conformance.generate.xds.build_submission`) are plain functions, so the load scenarios and
the server-role scenarios use the same submissions as the property suites.
"""

from conformance.generate.xds import (
    DocumentSpec,
    Mutation,
    SubmissionSpec,
    build_submission,
    document_contents,
    document_specs,
    mutations,
)

__all__ = ["DocumentSpec", "Mutation", "SubmissionSpec", "build_submission", "document_contents", "document_specs",
           "mutations"]
