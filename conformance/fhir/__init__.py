"""FHIR PDSm / IHE MHD validation: structure, StructureDefinition-driven profiles, invariants, PDSm rules."""

from conformance.fhir.package import FhirPackage, FhirPackageError, load_package
from conformance.fhir.parse import FhirInput, parse_fhir
from conformance.fhir.validator import FhirModel, FhirValidator, choose_profiles, default_validator

__all__ = [
    "FhirInput",
    "FhirModel",
    "FhirPackage",
    "FhirPackageError",
    "FhirValidator",
    "choose_profiles",
    "default_validator",
    "load_package",
    "parse_fhir",
]
