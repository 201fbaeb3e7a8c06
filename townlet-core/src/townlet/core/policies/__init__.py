"""Policies shipped with townlet-core (registered as ``townlet.policies`` entry points)."""
