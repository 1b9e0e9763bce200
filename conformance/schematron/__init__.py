"""ISO Schematron engine for the official CI-SIS schematrons: compiled to XSLT 3, run by SaxonC-HE.

``assemble`` (includes, abstract patterns) → ``compiler`` (one XSLT 3 stylesheet) → ``engine`` (Saxon,
caches, preloaded value sets); ``package`` copes with the upstream defects of the ANS package.
"""

from conformance.schematron.engine import SchematronEngine, default_cache_dir, get_engine
from conformance.schematron.model import SchematronRun, SvrlAssertion, normalise

__all__ = ["SchematronEngine", "SchematronRun", "SvrlAssertion", "default_cache_dir", "get_engine", "normalise"]
