"""Townlet scenario packs: configs extending the default town, with golden baselines.

Every scenario is a :class:`~townlet.scenarios._base.PackScenario` registered
under the ``townlet.scenarios`` entry-point group and selected with
``--scenario NAME``, ``extends: scenario:NAME`` or
``TownletParallelEnv(scenario=NAME)``. :mod:`townlet.scenarios.phenomena`
holds the scenarios that show one mechanism each, :mod:`townlet.scenarios.curriculum`
the curriculum stages (SPEC §14). See docs/scenarios.md.
"""
