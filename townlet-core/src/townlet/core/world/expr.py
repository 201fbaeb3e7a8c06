"""A small, safe expression language for affordance preconditions.

Grammar (lowest precedence first)::

    expr  := and ('or' and)*
    and   := not ('and' not)*
    not   := 'not' not | cmp
    cmp   := sum (('==' | '!=' | '<' | '<=' | '>' | '>=') sum)?
    sum   := prod (('+' | '-') prod)*
    prod  := unary (('*' | '/') unary)*
    unary := '-' unary | atom
    atom  := NUMBER | 'true' | 'false' | NAME ('.' NAME)* | '(' expr ')'

Text is parsed once into a tree of closures; evaluation takes a mapping from
names to scalars or per-agent numpy arrays and returns a broadcast result, so
one call checks a precondition for every agent. There is no ``eval``, no
attribute access and no calls: only the names the caller provides exist.

Expressions are bounded: at most :data:`MAX_LENGTH` characters and
:data:`MAX_DEPTH` levels of nesting (parentheses, ``not`` and unary ``-``).
Chains of one operator (``a + b + ...``, ``x and y and ...``) are evaluated in
a loop, so neither parsing nor evaluation recurses deeper than the nesting.
Evaluation is total: a constant divisor that is zero is refused at compile
time, and a division by zero at evaluation makes the whole expression false
(for the agents where it happened) instead of raising.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Expr", "ExprError", "compile_expr"]

MAX_LENGTH = 10_000
"""Longest expression text accepted, in characters."""
MAX_DEPTH = 32
"""Deepest nesting of parentheses, ``not`` and unary ``-`` accepted."""

Env = Mapping[str, Any]
Faults = list[Any]
"""Masks of the agents whose evaluation divided by zero, collected per call."""
Node = Callable[[Env, Faults], Any]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)"
    r"|(?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)))"
)
_SPACE = re.compile(r"\s*")
_KEYWORDS = {"and", "or", "not", "true", "false"}
_CMP = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_LOGIC = {"and": np.logical_and, "or": np.logical_or}


class ExprError(ValueError):
    """A precondition that does not parse, is too large or names an unknown variable."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column + 1})")
        self.column = column


@dataclass(frozen=True)
class Expr:
    """A compiled expression."""

    text: str
    names: frozenset[str]
    """Variables the expression reads."""
    _root: Node

    def __call__(self, env: Env) -> Any:
        """Evaluate against ``env`` (scalars or arrays that broadcast together).

        Where a division by zero happened the result is ``False``.
        """
        faults: Faults = []
        result = self._root(env, faults)
        if faults:
            return np.logical_and(result, np.logical_not(reduce(np.logical_or, faults)))
        return result


def compile_expr(text: str, known: frozenset[str] | None = None) -> Expr:
    """Parse ``text``; with ``known``, refuse names outside that set."""
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}", MAX_LENGTH
        )
    tokens = _tokenize(text)
    parser = _Parser(tokens, text, known)
    root = parser.parse_or()
    if parser.pos != len(tokens):
        _, value, col = tokens[parser.pos]
        raise ExprError(f"unexpected {value!r}", col)
    return Expr(text, frozenset(parser.names), root)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if not m:
            col = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            raise ExprError(f"unexpected character {text[col]!r}", col)
        kind = m.lastgroup or ""
        value = m.group(kind)
        tokens.append((kind, value, m.start(kind)))
        pos = m.end()
    if not tokens:
        raise ExprError("empty expression", 0)
    return tokens


class _Const:
    """A node whose value is known at compile time (folded there)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, env: Env, faults: Faults) -> Any:
        return self.value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str, known: frozenset[str] | None):
        self.tokens = tokens
        self.text = text
        self.known = known
        self.pos = 0
        self.depth = 0
        self.names: set[str] = set()

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _col(self) -> int:
        return self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text)

    def _take(self) -> tuple[str, str, int]:
        if self.pos >= len(self.tokens):
            raise ExprError("unexpected end of expression", len(self.text))
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"nested deeper than {MAX_DEPTH} levels", self._col())

    def parse_or(self) -> Node:
        return self._chain(self.parse_and, ("or",))

    def parse_and(self) -> Node:
        return self._chain(self.parse_not, ("and",))

    def parse_not(self) -> Node:
        if self._peek() == "not":
            self._enter()
            self.pos += 1
            inner = self.parse_not()
            self.depth -= 1
            return _unary(np.logical_not, inner)
        return self.parse_cmp()

    def parse_cmp(self) -> Node:
        left = self.parse_sum()
        op = self._peek()
        if op in _CMP:
            self.pos += 1
            return _fold(_CMP[op], [left, self.parse_sum()])
        return left

    def parse_sum(self) -> Node:
        return self._chain(self.parse_prod, ("+", "-"))

    def parse_prod(self) -> Node:
        return self._chain(self.parse_unary, ("*", "/"))

    def parse_unary(self) -> Node:
        if self._peek() == "-":
            self._enter()
            self.pos += 1
            inner = self.parse_unary()
            self.depth -= 1
            return _unary(operator.neg, inner)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        col = self._col()
        kind, value, _ = self._take()
        if kind == "num":
            return _Const(float(value))
        if value == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError(f"nested deeper than {MAX_DEPTH} levels", col)
            inner = self.parse_or()
            if self._peek() != ")":
                raise ExprError("expected ')'", self._col())
            self.pos += 1
            self.depth -= 1
            return inner
        if kind == "name" and value in ("true", "false"):
            return _Const(value == "true")
        if kind == "name" and value not in _KEYWORDS:
            if self.known is not None and value not in self.known:
                raise ExprError(
                    f"unknown name {value!r}; known: {', '.join(sorted(self.known))}", col
                )
            self.names.add(value)
            return lambda env, faults: env[value]
        raise ExprError(f"unexpected {value!r}", col)

    def _chain(self, operand: Callable[[], Node], ops: tuple[str, ...]) -> Node:
        """Parse ``operand (op operand)*`` into one node that folds left in a loop."""
        first = operand()
        steps: list[tuple[Callable[..., Any], Node]] = []
        while (op := self._peek()) in ops:
            assert op is not None
            self.pos += 1
            col = self._col()
            right = operand()
            if op == "/" and isinstance(right, _Const) and np.all(np.equal(right.value, 0)):
                raise ExprError("division by zero", col)
            steps.append((_safe_div if op == "/" else _LOGIC.get(op) or _ARITH[op], right))
        if not steps:
            return first
        # Fold the constant prefix at compile time (keeps evaluation identical).
        while steps and isinstance(first, _Const) and isinstance(steps[0][1], _Const):
            fn, right = steps.pop(0)
            first = _fold(fn, [first, right])
        if not steps:
            return first

        def node(env: Env, faults: Faults) -> Any:
            acc = first(env, faults)
            for fn, right in steps:
                acc = _call(fn, [acc, right(env, faults)], faults)
            return acc

        return node


def _safe_div(num: Any, den: Any, faults: Faults) -> Any:
    zero = np.equal(den, 0)
    if not np.any(zero):
        return num / den
    faults.append(zero)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(num, np.where(zero, 1, den))


def _fold(fn: Callable[..., Any], nodes: list[Node]) -> Node:
    """``fn`` over ``nodes``; computed now when every node is a constant."""
    if all(isinstance(n, _Const) for n in nodes):
        return _Const(_call(fn, [n({}, []) for n in nodes], []))
    left, right = nodes
    return lambda env, faults: _call(fn, [left(env, faults), right(env, faults)], faults)


def _call(fn: Callable[..., Any], args: list[Any], faults: Faults) -> Any:
    return fn(*args, faults) if fn is _safe_div else fn(*args)


def _unary(fn: Callable[[Any], Any], inner: Node) -> Node:
    if isinstance(inner, _Const):
        return _Const(fn(inner.value))
    return lambda env, faults: fn(inner(env, faults))
