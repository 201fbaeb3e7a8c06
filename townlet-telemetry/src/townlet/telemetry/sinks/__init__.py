"""Telemetry sinks shipped by townlet-telemetry (``jsonl``, ``tcp``, ``websocket``,
``tensorboard``), each registered under ``townlet.telemetry_sinks``."""
