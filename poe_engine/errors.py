"""Errors that stand for a user's mistake, and how a command line shows them.

`InputError` is bad input from a user: a command line, a configuration or settings file.
Command lines report it as one line with exit code 2. It subclasses ValueError, so code
that already catches ValueError around user input (the desktop app) keeps working; any
*other* ValueError that escapes a command is a bug, not a usage error.
"""

from __future__ import annotations

import math


class InputError(ValueError):
    """Bad input from a user: a command line, a configuration or settings file; reported
    as one line."""


class OutputError(RuntimeError):
    """An output path that cannot be written (a file where a folder should be, a folder
    without write permission); reported as one line, exit code 1."""


def one_line(text: object) -> str:
    """`text` as one printable line: line breaks and other control characters escaped (a
    path may contain them)."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))


def shown(value: object, limit: int = 40) -> str:
    """repr(value), cut to about `limit` characters, for messages that echo user input."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python converts to text
        return f"an integer of {value.bit_length()} bits"  # type: ignore[attr-defined]
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def cut(text: str, limit: int = 60) -> str:
    """`text`, cut to about `limit` characters."""
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def number_problem(value: object, low: float, high: float, integer: bool = False) -> str | None:
    """What is wrong with `value` as a number (an integer when `integer`) in [low, high], as
    'must ...', or None. bool is not a number here."""
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        return f"must be {'an integer' if integer else 'a number'}, got {shown(value)}"
    if not integer and not math.isfinite(value):
        return f"must be finite, got {value}"
    if not low <= value <= high:
        return f"must lie in [{_bound(low)}, {_bound(high)}], got {shown(value)}"
    return None


def check_number(
    name: str, value: object, low: float, high: float, integer: bool = False
) -> int | float:
    """`value` if it is a number (an integer when `integer`) in [low, high]; else an
    InputError naming `name`."""
    problem = number_problem(value, low, high, integer)
    if problem is not None:
        raise InputError(f"{name} {problem}")
    return value


def _bound(v: float) -> str:
    if isinstance(v, int) and v >= 2**32 and (v + 1) & v == 0:
        return f"2**{v.bit_length()} - 1"
    return f"{v:g}" if isinstance(v, float) else str(v)
