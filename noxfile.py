"""Nox sessions for Townlet.

``nox -l`` lists them. CI (``.ci/run``) runs ``tests``, ``core``, ``lint``,
``typecheck``, ``integrations`` and ``ray``; ``bench``, ``learn`` and ``demo`` run
on request.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "core", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True

ALL_PACKAGES = ("townlet-core", "townlet-telemetry", "townlet-scenarios", "townlet-strategies")
CONSTRAINTS = ("-c", "constraints.txt")  # pins torch==2.13.0 (local CPU wheel)


def install(session: nox.Session, *packages: str, extra: tuple[str, ...] = ()) -> None:
    """Install townlet distributions (as users get them, not editable) plus dev deps."""
    session.install(
        *(f"./{p}" for p in packages), "-r", "requirements-dev.txt", *extra, *CONSTRAINTS
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite with all four packages installed."""
    install(session, *ALL_PACKAGES)
    session.run("pytest", *session.posargs)


@nox.session
def core(session: nox.Session) -> None:
    """Install townlet-core alone (no torch) and run the tests that need only it."""
    install(session, "townlet-core")
    session.run("pytest", *session.posargs, env={"TOWNLET_CORE_ONLY": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole repository."""
    session.install("ruff", *CONSTRAINTS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on townlet.core and the repository's tools/."""
    session.install("./townlet-core", "mypy", "types-PyYAML", *CONSTRAINTS)
    session.run("mypy", "townlet-core/src", "tools")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Throughput benchmarks (results go in docs/benchmarks.md); pass script names to pick."""
    install(session, "townlet-core", "townlet-telemetry", "townlet-strategies")
    scripts = sorted(Path("benchmarks").glob("bench_*.py"))
    chosen = [s for s in scripts if not session.posargs or s.stem in session.posargs]
    for script in chosen:
        session.run("python", str(script))


@nox.session(default=False)
def learn(session: nox.Session) -> None:
    """PPO learning benchmarks: the slow learning tests, then the one-citizen town (10 min cap)
    and the default town (60 min cap) scored against scripted and random (docs/benchmarks.md)."""
    install(session, "townlet-core", "townlet-strategies")
    session.run("pytest", "-m", "slow", "tests/strategies")
    setups = session.posargs or ["one-citizen", "town"]
    for setup in setups:
        minutes = "10" if setup == "one-citizen" else "60"
        session.run("python", "benchmarks/bench_train.py", "--learn", setup, "--minutes", minutes)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """The README's main job: three sim days of town life (the demo_story_arc scenario)."""
    install(session, "townlet-core", "townlet-telemetry", "townlet-scenarios")
    main_job = ("--scenario", "demo_story_arc", "--days", "3")
    session.run("townlet", "run", *(session.posargs or main_job))


@nox.session
def ray(session: nox.Session) -> None:
    """The Ray backend and the RLlib adapter on a local 2-CPU Ray runtime (tests/ray)."""
    install(session, "townlet-core", "townlet-strategies[ray,rllib]")
    session.run("pytest", "tests/ray", *session.posargs)


INTEGRATION_LIBS = (
    "stable-baselines3==2.9.2",
    "sb3-contrib==2.9.2",
    "supersuit==3.11.0",
    "torchrl==0.14.1",
    "tensordict==0.14.3",
)
"""The RL libraries of the docs/env.md recipes (versions that install beside torch 2.13.0)."""


@nox.session
def integrations(session: nox.Session) -> None:
    """The town under SB3, sb3-contrib, SuperSuit and TorchRL: the docs/env.md recipes."""
    install(session, "townlet-core", "townlet-strategies", extra=INTEGRATION_LIBS)
    session.run(
        "pytest",
        "tests/integrations",
        "tests/env/test_slots.py",
        "tests/env/test_sb3_vec.py",
        *session.posargs,
    )
