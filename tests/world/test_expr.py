"""The precondition language: parses, evaluates vectorised, refuses everything else."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from townlet.core.world.expr import ExprError, compile_expr


def test_evaluates_over_agent_arrays() -> None:
    expr = compile_expr("agent.money >= 2 * price.meal and not occupied or power_on == false")
    env = {
        "agent.money": np.array([3.0, 1.0, 3.0]),
        "price.meal": 1.0,
        "occupied": np.array([False, False, True]),
        "power_on": True,
    }
    assert expr(env).tolist() == [True, False, False]
    assert expr.names == {"agent.money", "price.meal", "occupied", "power_on"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 == 7", True),
        ("-(1 - 3) > 1.5", True),
        ("not not true", True),
        ("(1 < 2) and (2 < 1)", False),
        ("4 / 2 != 2", False),
        (".5 <= 0.5", True),
    ],
)
def test_precedence(text: str, expected: bool) -> None:
    assert bool(compile_expr(text)({})) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a ==", "unexpected end of expression (column 5)"),
        ("a & b", "unexpected character '&' (column 3)"),
        ("(a", "expected ')' (column 3)"),
        ("", "empty expression"),
        ("__import__('os')", "unexpected character"),
        ("a b", "unexpected 'b' (column 3)"),
    ],
)
def test_syntax_errors_give_column(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        compile_expr(text)


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ExprError, match=r"unknown name 'agent\.mony'"):
        compile_expr("agent.mony > 1", frozenset({"agent.money"}))


@given(st.text(max_size=30))
def test_any_text_compiles_or_raises_expr_error(text: str) -> None:
    try:
        expr = compile_expr(text, frozenset({"a", "b"}))
    except ExprError as exc:
        error = str(exc)
    else:
        error = ""
        assert expr.names <= {"a", "b"}
    assert error == "" or "column" in error
