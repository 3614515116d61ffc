"""Backends start a runtime for an execution environment: local Node processes or Docker containers."""
