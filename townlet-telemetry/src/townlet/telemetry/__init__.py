"""Townlet telemetry: sinks and transports, payload schemas and log tools.

Sinks register under the ``townlet.telemetry_sinks`` entry-point group and
are selected by name in ``telemetry.sinks`` of a run config.
"""
