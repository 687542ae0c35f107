"""Fakes of external services for tests (real servers on loopback speaking the real wire format)."""
