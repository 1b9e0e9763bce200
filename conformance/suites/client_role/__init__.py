"""Client-role suite: the system under test is an LPS; the bench runs the reference DMP and judges what it
receives."""
