"""Hypothesis strategies for the bench: synthetic people, CI-SIS CDA documents valid by construction, XDS
submissions consistent with their documents, VIHF assertions in every authentication mode, FHIR bundles, and
mutations that break exactly one rule and name the error the DMP must answer (``Mutation.expected``) or the
coherence rule that reports it (``CoherenceMutation.rule``).

The builders (:func:`conformance.generate.xds.build_submission`, :func:`conformance.generate.cda.render`) are plain
functions, so the load scenarios and the server-role scenarios use the same submissions as the property suites.
"""

from conformance.generate.cda import CdaAuthor, CdaHeader, cda_documents, cda_headers, render
from conformance.generate.xds import (
    COHERENCE_MUTATIONS,
    CoherenceMutation,
    DocumentSpec,
    Mutation,
    SubmissionSpec,
    build_submission,
    document_contents,
    document_entries_for,
    document_specs,
    mutations,
    replacement_chain,
    submissions_from_cda,
)

__all__ = ["COHERENCE_MUTATIONS", "CdaAuthor", "CdaHeader", "CoherenceMutation", "DocumentSpec", "Mutation",
           "SubmissionSpec", "build_submission", "cda_documents", "cda_headers", "document_contents",
           "document_entries_for", "document_specs", "mutations", "render", "replacement_chain",
           "submissions_from_cda"]
