"""Townlet scenario packs: configs extending the default town, with baselines.

Scenarios register under the ``townlet.scenarios`` entry-point group and are
selected with ``--scenario NAME`` or ``extends: scenario:NAME``.
"""
