"""Composition expressions (issue 20, `--compose EXPR`): parsed, printed in a canonical form,
expanded into the branches of a mixture. Pure Python.

Loosest first: `|` (OR, a mixture), `&` (AND, a product), the prefixes `!` (NOT), `~` (soft
complement, colours only) and `NUM*` (a weight; negative is NOT), `( ... )`, and the atoms:
flows `x`, `y`, `z`, `color`, `sphere` (= `x & y & z`); shapes `torus(R, r)` (`torus`: 0.3,
0.1) and `union(a, b, ...)` of `sphere` and tori; regions `cap(AXIS > V)`, `cap(AXIS < V)`,
`band(AXIS, LO, HI)`, `ball(CX, CY, CZ, R)`, each with optional `beta=` (8) and `tau=` (0.05);
colours as `--reward` takes them (red, a CSS name, `#rrggbb`). Names are case-insensitive.

`parse` normalises: `!!a` is `a`; NOT goes in through weights and ANDs (`!(a & b)` is
`!a & !b`) to its atoms (a region's sign, a colour's mode); weights multiply (`2*3*a` is `6*a`,
`-2*a` is `2*!a`, `1*a` is `a`); nested ANDs flatten, ORs do not (in `(a | b) | c`, c is half
the population). `canonical` prints that: ` & `, ` | `; an OR in an AND or an OR, and an AND
or OR under a weight, in parentheses; `2*x` (the shortest text of the float, integers without
`.0`); `sphere` as written; colours by the name given, lowercase (hex `#rrggbb`); `torus`
alone at its defaults; `cap(z > 0.75)`, `band(z, 0.45, 0.55)`, `ball(0.5, 0.5, 0.5, 0.2)`,
with `beta=`, `tau=` only when not the defaults. `parse(canonical(e)) == e`.

`branches`: AND distributes over OR. The weight of an operand of `|` is its share of the
population (`red | 2*blue`: 1/3, 2/3); any other weight multiplies the weight of every term
under it, in every branch (`2*(a & b)`, `2*(a | b) & c`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections import namedtuple
from dataclasses import dataclass, replace

import webcolors

from .errors import InputError
from .reward import NAMED_COLORS, css_color, parse_color

FLOWS = ("x", "y", "z", "color")
SPHERE = "sphere"
AXES = ("x", "y", "z")
FUNCTIONS = ("torus", "union", "cap", "band", "ball")
KEYS = ("beta", "tau")
DEFAULT_BETA = 8.0
DEFAULT_TAU = 0.05
TORUS_DEFAULT = (0.3, 0.1)
MAX_WEIGHT = 100.0  # a weight's size must be below this
MAX_BRANCHES = 64
FLOW_NOT = "a learned flow has no energy to negate"
SHAPE_NOT = "a shape has no energy to negate"


class ExpressionError(InputError):
    """`position`: 0-based in the text; the message says "at column {position + 1}"."""

    def __init__(self, reason: str, position: int, hint: str = ""):
        super().__init__(f"{reason} at column {position + 1}" + (f": {hint}" if hint else ""))
        self.reason, self.position, self.hint = reason, position, hint


@dataclass(frozen=True)
class RegionSpec:
    kind: str  # "cap" | "band" | "ball"
    axis: int | None  # 0, 1, 2 for cap and band; None for ball
    # cap: (V, +1 for '>' or -1 for '<'); band: (LO, HI); ball: (CX, CY, CZ, R)
    params: tuple[float, ...]
    beta: float = DEFAULT_BETA
    tau: float = DEFAULT_TAU


@dataclass(frozen=True)
class ShapeSpec:
    kind: str  # "torus" | "sphere" (the latter only inside a union)
    params: tuple[float, ...] = ()  # torus: (R, r)


@dataclass(frozen=True)
class ColourSpec:
    name: str  # red, green, blue, white, a CSS name or #rrggbb, lowercase
    rgb: tuple[float, float, float]
    mode: str = "plain"  # "plain" | "not" | "complement"


# The tree `parse` returns; leaves: Flow, ShapeSpec, ShapeUnion, Region, ColourSpec.
@dataclass(frozen=True)
class Flow:
    name: str  # x, y, z, color or sphere


@dataclass(frozen=True)
class ShapeUnion:
    shapes: tuple[ShapeSpec, ...]


@dataclass(frozen=True)
class Region:
    spec: RegionSpec
    sign: int = 1  # -1: NOT


@dataclass(frozen=True)
class Weighted:
    weight: float  # > 0 and not 1
    term: Expr


@dataclass(frozen=True)
class And:
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Expr, ...]


Expr = Flow | ShapeSpec | ShapeUnion | Region | ColourSpec | Weighted | And | Or


@dataclass(frozen=True)
class Branch:
    """One component of the mixture: the product of its terms, each with its weight."""

    flows: tuple[tuple[str, float], ...] = ()  # in the order x, y, z, color
    shapes: tuple[tuple[ShapeSpec, float], ...] = ()
    unions: tuple[tuple[tuple[ShapeSpec, ...], float], ...] = ()
    regions: tuple[tuple[RegionSpec, float], ...] = ()  # signed: -1 for !cap(...)
    colours: tuple[tuple[ColourSpec, float], ...] = ()  # > 0; the spec's mode says ! or ~
    weight: float = 1.0  # the branch's share of the population

    def describe(self) -> str:
        """The canonical text of this branch alone (its share left out)."""
        leaves = [*((Flow(n), w) for n, w in self.flows), *self.shapes,
                  *((ShapeUnion(u), w) for u, w in self.unions),
                  *((Region(r, 1 if w > 0 else -1), abs(w)) for r, w in self.regions),
                  *self.colours]
        return " & ".join(canonical(leaf if w == 1 else Weighted(w, leaf)) for leaf, w in leaves)


def _num(v: float) -> str:
    return str(int(v)) if math.isfinite(v) and v == int(v) and abs(v) < 1e16 else repr(float(v))


def _region_text(r: RegionSpec) -> str:
    p = [_num(v) for v in r.params]
    inner = {"cap": lambda: f"{AXES[r.axis]} {'>' if r.params[1] > 0 else '<'} {p[0]}",
             "band": lambda: f"{AXES[r.axis]}, {p[0]}, {p[1]}",
             "ball": lambda: ", ".join(p)}[r.kind]()
    inner += f", beta={_num(r.beta)}" if r.beta != DEFAULT_BETA else ""
    inner += f", tau={_num(r.tau)}" if r.tau != DEFAULT_TAU else ""
    return f"{r.kind}({inner})"


def canonical(expr: Expr) -> str:
    """The normal form's text (its rules are in the module's docstring)."""
    if isinstance(expr, Or | And):
        op, wrap = (" | ", Or) if isinstance(expr, Or) else (" & ", Or | And)
        return op.join(_wrapped(t, wrap) for t in expr.terms)
    if isinstance(expr, Weighted):
        return f"{_num(expr.weight)}*{_wrapped(expr.term, Or | And)}"
    if isinstance(expr, Flow):
        return expr.name
    if isinstance(expr, ShapeSpec):
        default = expr.kind == SPHERE or expr.params == TORUS_DEFAULT
        return expr.kind + ("" if default else f"({', '.join(map(_num, expr.params))})")
    if isinstance(expr, ShapeUnion):
        return "union(" + ", ".join(canonical(s) for s in expr.shapes) + ")"
    if isinstance(expr, Region):
        return ("!" if expr.sign < 0 else "") + _region_text(expr.spec)
    if isinstance(expr, ColourSpec):
        return {"plain": "", "not": "!", "complement": "~"}[expr.mode] + expr.name
    raise TypeError(f"not an expression: {expr!r}")


def _wrapped(expr: Expr, kinds: type) -> str:
    return f"({canonical(expr)})" if isinstance(expr, kinds) else canonical(expr)


def _negate(e: Expr, pos: int, op: str = "!") -> Expr:
    """`!e` (`~e` when op is '~') in normal form; an ExpressionError where it means nothing."""
    if isinstance(e, Weighted):
        return Weighted(e.weight, _negate(e.term, pos, op))
    if op == "~":
        if isinstance(e, ColourSpec) and e.mode == "plain":
            return replace(e, mode="complement")
        raise ExpressionError(f"'~' (soft complement) applies to a colour, not to "
                              f"'{canonical(e)}'", pos)
    if isinstance(e, And):
        return And(tuple(_negate(t, pos) for t in e.terms))
    if isinstance(e, Region):
        return Region(e.spec, -e.sign)
    if isinstance(e, ColourSpec):
        if e.mode == "complement":
            raise ExpressionError(f"'!' cannot negate a complement ('~{e.name}')", pos)
        return replace(e, mode="not" if e.mode == "plain" else "plain")
    why = (FLOW_NOT if isinstance(e, Flow) else SHAPE_NOT if not isinstance(e, Or) else
           "a mixture ('|') has no energy to negate")
    raise ExpressionError(f"{why} ('!{_wrapped(e, Or)}')", pos)


def _weigh(w: float, e: Expr, pos: int) -> Expr:
    if isinstance(e, Weighted):
        w, e = w * e.weight, e.term
    if not (math.isfinite(w) and 0 < abs(w) < MAX_WEIGHT):
        raise ExpressionError(f"a weight must be non-zero and below {_num(MAX_WEIGHT)} in "
                              f"size, got {_num(w)}", pos)
    if w < 0:
        w, e = -w, _negate(e, pos)
    return e if w == 1 else Weighted(w, e)


_CHECK = {"num": re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII),
          "hex": re.compile(r"#[0-9a-fA-F]{6}")}
_TOKEN = re.compile(r"\s*(?:(?P<num>[\d.][\w.]*(?:(?<=[eE])[+-][\w.]*)?)|(?P<name>[A-Za-z_]\w*)"
                    r"|(?P<hex>#\w*)|(?P<op>[&|!~*(),=<>-])|(?P<bad>\S))", re.ASCII)
_Token = namedtuple("_Token", "kind text pos")  # kind: num, name, hex, op or end


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(text):
        kind, pos = m.lastgroup, m.start(m.lastgroup)
        if kind == "bad":
            raise ExpressionError(f"unexpected character {m[kind]!r}", pos)
        if kind in _CHECK and not _CHECK[kind].fullmatch(m[kind]):
            raise ExpressionError(f"bad number '{m[kind]}'" if kind == "num" else
                                  f"bad colour '{m[kind]}' (use #rrggbb)", pos)
        out.append(_Token(kind, m[kind], pos))
    return [*out, _Token("end", "", len(text))]


def _suggest(name: str, names: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, names, n=3)
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""


class _Parser:
    def __init__(self, text: str):
        self.tokens, self.i = _tokens(text), 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def at(self, *ops: str) -> bool:
        return self.peek().kind == "op" and self.peek().text in ops

    def expect(self, op: str, what: str = "") -> _Token:
        if not self.at(op):
            raise ExpressionError(f"expected {what or repr(op)}", self.peek().pos)
        return self.take()

    def expression(self, op: str = "|") -> Expr:
        terms = [self.expression("&") if op == "|" else self.unary()]
        while self.at(op) and self.take():
            terms.append(self.expression("&") if op == "|" else self.unary())
        if op == "&":
            terms = [u for t in terms for u in (t.terms if isinstance(t, And) else (t,))]
        return terms[0] if len(terms) == 1 else (Or if op == "|" else And)(tuple(terms))

    def unary(self) -> Expr:
        t = self.peek()
        if self.at("!", "~") and self.take():
            return _negate(self.unary(), t.pos, t.text)
        if t.kind == "num" or self.at("-"):
            w = self.number("a weight")
            self.expect("*", "'*' after the weight")
            return _weigh(w, self.unary(), t.pos)
        if self.at("(") and self.take():
            return (self.expression(), self.expect(")"))[0]
        return self.atom()

    def number(self, what: str, ok=math.isfinite, problem: str = "") -> float:  # '-' allowed
        pos, sign = self.peek().pos, -1.0 if self.at("-") else 1.0
        if sign < 0:
            self.take()
        if self.peek().kind != "num":
            raise ExpressionError(f"expected {what}", self.peek().pos)
        v = sign * float(self.take().text)
        if not (math.isfinite(v) and ok(v)):
            raise ExpressionError(f"{what} {problem or 'must be finite'}, got {_num(v)}", pos)
        return v

    def atom(self) -> Expr:
        t = self.take()
        if t.kind == "hex":
            return ColourSpec(*parse_color(t.text))
        if t.kind != "name":
            raise ExpressionError("expected a term (a flow, shape, region, colour or '(')",
                                  t.pos)
        name = t.text.lower()
        if name in FUNCTIONS:
            if name == "torus" and not self.at("("):
                return ShapeSpec("torus", TORUS_DEFAULT)
            self.expect("(", f"'(' after '{name}'")
            return getattr(self, name)()
        known = name in (*FLOWS, SPHERE, *NAMED_COLORS) or css_color(name) is not None
        if known and self.at("("):
            raise ExpressionError(f"'{name}' takes no arguments", self.peek().pos)
        if name in FLOWS or name == SPHERE:
            return Flow(name)
        if known:
            return ColourSpec(name, parse_color(name)[1])
        vocabulary = list(dict.fromkeys([*FLOWS, SPHERE, *FUNCTIONS, *NAMED_COLORS,
                                         *webcolors.names(webcolors.CSS3), "rebeccapurple"]))
        raise ExpressionError(f"unknown name '{t.text}'", t.pos, _suggest(name, vocabulary) or
                              "not a flow (x, y, z, color, sphere), shape or region (torus, "
                              "union, cap, band, ball) or colour (red, a CSS name, #rrggbb)")

    def torus(self) -> Expr:
        pos, small = self.peek().pos, TORUS_DEFAULT[1]
        big = self.number("R", lambda v: v > 0, "must be above 0")
        if self.at(",") and self.take():
            pos, small = self.peek().pos, self.number("r", lambda v: v > 0, "must be above 0")
        if not small < big:
            raise ExpressionError(f"a torus needs r < R, got R = {_num(big)}, r = {_num(small)}",
                                  pos)
        self.expect(")", "')' (torus takes R and r)")
        return ShapeSpec("torus", (big, small))

    def union(self) -> Expr:
        shapes = []
        while not shapes or (self.at(",") and self.take()):
            t = self.peek()
            arg = self.atom() if t.kind == "name" else None
            if arg != Flow(SPHERE) and not isinstance(arg, ShapeSpec):
                raise ExpressionError("union takes shapes: sphere or torus(...)", t.pos)
            shapes.append(ShapeSpec(SPHERE) if isinstance(arg, Flow) else arg)
        self.expect(*((")",) if len(shapes) > 1 else (",", "',' and a second shape")))
        return ShapeUnion(tuple(shapes))

    def axis(self) -> int:
        t = self.take()
        if t.kind != "name" or t.text.lower() not in AXES:
            raise ExpressionError("expected an axis (x, y or z)", t.pos)
        return AXES.index(t.text.lower())

    def region(self, kind: str, axis: int | None, params: tuple[float, ...]) -> Expr:
        given: dict[str, float] = {}
        while self.at(",") and self.take():
            t = self.take()
            key = t.text.lower() if t.kind == "name" else ""
            if key not in KEYS or key in given:
                raise (ExpressionError(f"{key} given twice", t.pos) if key in given else
                       ExpressionError("expected beta= or tau=", t.pos, _suggest(key, KEYS)))
            self.expect("=", f"'=' after {key}")
            given[key] = self.number(key, lambda v: v > 0, "must be above 0")
        self.expect(")")
        return Region(RegionSpec(kind, axis, params, given.get("beta", DEFAULT_BETA),
                                 given.get("tau", DEFAULT_TAU)))

    def cap(self) -> Expr:
        axis = self.axis()
        if not self.at(">", "<"):
            raise ExpressionError("expected '>' or '<'", self.peek().pos)
        side = 1.0 if self.take().text == ">" else -1.0
        return self.region("cap", axis, (self.number("a threshold"), side))

    def band(self) -> Expr:
        axis = self.axis()
        self.expect(",")
        lo = self.number("LO")
        self.expect(",")
        hi = self.number("HI", lambda v: v > lo, f"must be above LO = {_num(lo)}")
        return self.region("band", axis, (lo, hi))

    def ball(self) -> Expr:
        centre = [(self.number(c), self.expect(","))[0] for c in ("CX", "CY", "CZ")]
        r = self.number("R", lambda v: v > 0, "must be above 0")
        return self.region("ball", None, (*centre, r))


def parse(text: str) -> Expr:
    """The expression `text` says, in normal form; an ExpressionError if it says none, or
    one of more than MAX_BRANCHES branches, or a branch whose terms all cancel."""
    p = _Parser(text)
    try:
        e = p.expression()
    except RecursionError:
        raise ExpressionError("nested too deeply", 0) from None
    if p.peek().kind != "end":
        raise ExpressionError("expected '&', '|' or the end", p.peek().pos)
    for b in branches(e):
        weights = [abs(w) for _, w in (*b.flows, *b.shapes, *b.unions, *b.regions, *b.colours)]
        if not weights or max(weights) >= MAX_WEIGHT:
            raise ExpressionError(f"a weight adds up to {_num(max(weights))} in '{b.describe()}'"
                                  f" (below {_num(MAX_WEIGHT)}, please)" if weights else
                                  "the terms of a branch cancel out", 0)
    return e


def _expand(e: Expr) -> list[tuple[float, list[tuple[str, object, float]]]]:
    """The branches of `e`: (share, [(kind, key, weight), ...]) each."""
    if isinstance(e, Or):
        parts = [(t.weight, t.term) if isinstance(t, Weighted) else (1.0, t) for t in e.terms]
        total = sum(w for w, _ in parts)
        out = [(w / total * s, terms) for w, t in parts for s, terms in _expand(t)]
    elif isinstance(e, And):
        out = [(1.0, [])]
        for t in e.terms:
            out = [(a * b, ta + tb) for a, ta in out for b, tb in _expand(t)]
            if len(out) > MAX_BRANCHES:
                break
    elif isinstance(e, Weighted):
        return [(s, [(k, key, e.weight * w) for k, key, w in terms])
                for s, terms in _expand(e.term)]
    elif isinstance(e, Flow):
        return [(1.0, [("flow", n, 1.0) for n in (AXES if e.name == SPHERE else (e.name,))])]
    elif isinstance(e, Region):
        return [(1.0, [("region", e.spec, float(e.sign))])]
    else:  # a torus, a union, a colour
        kind = {ShapeSpec: "shape", ShapeUnion: "union"}.get(type(e), "colour")
        return [(1.0, [(kind, getattr(e, "shapes", e), 1.0)])]
    if len(out) > MAX_BRANCHES:
        raise ExpressionError(f"the expression expands into more than {MAX_BRANCHES} "
                              "branches", 0)
    return out


def branches(expr: Expr) -> list[Branch]:
    """The mixture's components: AND distributed over OR, shares summing to 1. Within a
    branch a term given twice adds its weights (`x & 2*x` is x with weight 3); regions
    whose signed weights cancel are left out."""
    out = []
    for share, terms in _expand(expr):
        merged: dict[tuple[str, object], float] = {}
        for kind, key, w in terms:
            merged[kind, key] = merged.get((kind, key), 0.0) + w
        flows = tuple((n, merged["flow", n]) for n in FLOWS if ("flow", n) in merged)
        rest = [tuple((key, w) for (k, key), w in merged.items() if k == kind and w != 0)
                for kind in ("shape", "union", "region", "colour")]
        out.append(Branch(flows, *rest, weight=share))
    return out


def showcase() -> dict[str, str]:
    """The issue's gallery: a name -> its expression."""
    return {
        "a sphere with a hole": "sphere & color & red & !cap(z > 0.75)",
        "a ring": "sphere & color & red & band(z, 0.45, 0.55)",
        "red | blue": "sphere & color & (red | blue)",
        "!green": "sphere & color & !green",
        "sphere | torus": "(sphere | torus) & color & red",
        "AND into a region": "sphere & color & red & cap(z > 0.75)",
    }
