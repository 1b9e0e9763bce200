"""Server-role suite: the system under test is a DMP; the bench sends TD transactions as an LPS would."""
