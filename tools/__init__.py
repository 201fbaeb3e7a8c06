"""Repository tools: generators for test fixtures and docs, and a synthetic telemetry stream.

They serve the tests, the benchmarks and the docs of this repository and ship
in no distribution. Run them from the repository root, e.g.
``python -m tools.observation_docs docs/observations.md``.
"""
