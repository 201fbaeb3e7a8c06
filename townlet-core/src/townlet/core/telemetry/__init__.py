"""Telemetry plumbing in core: config section (sinks are plugins)."""
