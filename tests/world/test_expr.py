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


@pytest.mark.parametrize(
    "text",
    ["(" * 125 + "1" + ")" * 125, "not " * 1000 + "true", "-" * 2000 + "1"],
)
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(ExprError, match=r"nested deeper than 32 levels \(column \d+\)"):
        compile_expr(text)


def test_overlong_expressions_are_refused_before_tokenising() -> None:
    with pytest.raises(
        ExprError, match=r"expression is 400001 characters long; the limit is 10000"
    ):
        compile_expr("a + " * 100_000 + "a")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+".join(["a"] * 2000) + "==2000", [True, False]),
        ("*".join(["a"] * 2000) + "==1", [True, False]),
        ("and ".join(["a "] * 1300), [True, False]),
        ("or ".join(["a "] * 1300), [True, False]),
    ],
)
def test_long_chains_evaluate_without_recursion(text: str, expected: list[bool]) -> None:
    assert compile_expr(text)({"a": np.array([1.0, 0.0])}).tolist() == expected


@pytest.mark.parametrize("text", ["1 / 0 > 0", "a / (2 - 2) > 0", "a > 1 / false"])
def test_constant_division_by_zero_is_refused(text: str) -> None:
    with pytest.raises(ExprError, match=r"division by zero \(column \d+\)"):
        compile_expr(text)


def test_division_by_zero_at_evaluation_fails_the_precondition() -> None:
    expr = compile_expr("not (a / b > 0)")
    assert bool(expr({"a": 1.0, "b": 0.0})) is False
    assert bool(expr({"a": -1.0, "b": 2.0})) is True
    per_agent = expr({"a": np.array([1.0, -1.0, -1.0]), "b": np.array([0.0, 0.0, 1.0])})
    assert per_agent.tolist() == [False, False, True]
