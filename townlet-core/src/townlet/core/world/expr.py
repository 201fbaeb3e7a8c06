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
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Expr", "ExprError", "compile_expr"]

Env = Mapping[str, Any]
Node = Callable[[Env], Any]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)"
    r"|(?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)))"
)
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


class ExprError(ValueError):
    """A precondition that does not parse or names an unknown variable."""

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
        """Evaluate against ``env`` (scalars or arrays that broadcast together)."""
        return self._root(env)


def compile_expr(text: str, known: frozenset[str] | None = None) -> Expr:
    """Parse ``text``; with ``known``, refuse names outside that set."""
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
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character {text[col]!r}", col)
        kind = m.lastgroup or ""
        value = m.group(kind)
        tokens.append((kind, value, m.start(kind)))
        pos = m.end()
    if not tokens:
        raise ExprError("empty expression", 0)
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str, known: frozenset[str] | None):
        self.tokens = tokens
        self.text = text
        self.known = known
        self.pos = 0
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

    def parse_or(self) -> Node:
        left = self.parse_and()
        while self._peek() == "or":
            self.pos += 1
            right = self.parse_and()
            left = _binary(np.logical_or, left, right)
        return left

    def parse_and(self) -> Node:
        left = self.parse_not()
        while self._peek() == "and":
            self.pos += 1
            right = self.parse_not()
            left = _binary(np.logical_and, left, right)
        return left

    def parse_not(self) -> Node:
        if self._peek() == "not":
            self.pos += 1
            inner = self.parse_not()
            return lambda env: np.logical_not(inner(env))
        return self.parse_cmp()

    def parse_cmp(self) -> Node:
        left = self.parse_sum()
        op = self._peek()
        if op in _CMP:
            self.pos += 1
            right = self.parse_sum()
            return _binary(_CMP[op], left, right)
        return left

    def parse_sum(self) -> Node:
        left = self.parse_prod()
        while (op := self._peek()) in ("+", "-"):
            self.pos += 1
            left = _binary(_ARITH[op], left, self.parse_prod())
        return left

    def parse_prod(self) -> Node:
        left = self.parse_unary()
        while (op := self._peek()) in ("*", "/"):
            self.pos += 1
            left = _binary(_ARITH[op], left, self.parse_unary())
        return left

    def parse_unary(self) -> Node:
        if self._peek() == "-":
            self.pos += 1
            inner = self.parse_unary()
            return lambda env: -inner(env)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        col = self._col()
        kind, value, _ = self._take()
        if kind == "num":
            number = float(value)
            return lambda env: number
        if value == "(":
            inner = self.parse_or()
            if self._peek() != ")":
                raise ExprError("expected ')'", self._col())
            self.pos += 1
            return inner
        if kind == "name" and value in ("true", "false"):
            flag = value == "true"
            return lambda env: flag
        if kind == "name" and value not in _KEYWORDS:
            if self.known is not None and value not in self.known:
                raise ExprError(
                    f"unknown name {value!r}; known: {', '.join(sorted(self.known))}", col
                )
            self.names.add(value)
            return lambda env: env[value]
        raise ExprError(f"unexpected {value!r}", col)


def _binary(op: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    return lambda env: op(left(env), right(env))
