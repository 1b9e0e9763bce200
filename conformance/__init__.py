"""dmp-conformance: offline conformance bench for the French shared health record (DMP) and the ANS CI-SIS."""

__version__ = "0.1.0"
