"""Typed constructors of pyiceberg row filters.

pyiceberg's expression classes are pydantic models: mypy sees their field-based `__init__`, not
the positional one they take at run time, so every `EqualTo("column", value)` reads as a type
error. These helpers are the one place that says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyiceberg.expressions import BooleanExpression, EqualTo, In, StartsWith


def equal(column: str, value: Any) -> BooleanExpression:
    """Rows whose `column` equals `value`."""
    return EqualTo(column, value)  # type: ignore[call-arg, arg-type]


def is_in(column: str, values: Iterable[Any]) -> BooleanExpression:
    """Rows whose `column` is one of `values`."""
    return In(column, list(values))  # type: ignore[call-arg, arg-type]


def starts_with(column: str, prefix: str) -> BooleanExpression:
    """Rows whose string `column` starts with `prefix`."""
    return StartsWith(column, prefix)  # type: ignore[call-arg, arg-type]
