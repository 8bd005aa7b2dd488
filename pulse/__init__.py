"""Pulse: multi-tenant IoT fleet operations."""

__version__ = "0.1.0"
