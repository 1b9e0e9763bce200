"""Documents-role suite: the system under test produced documents (CDA…); the bench validates each one."""
