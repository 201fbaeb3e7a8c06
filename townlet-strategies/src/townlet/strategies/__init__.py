"""Townlet training strategies that need torch (PPO, BC, anneal).

Strategies register under the ``townlet.training_strategies`` entry-point
group; the orchestrator in townlet-core selects them by name.
"""
