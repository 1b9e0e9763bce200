"""CDA R2 documents under the CI-SIS: model, validation pipeline (XSD, official schematrons, our rules)."""
