"""Composition expressions (issue 20): the grammar, the normal form and its canonical text,
errors with their positions, and the expansion into a mixture's branches."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from poe_engine.errors import InputError
from poe_engine.expression import (
    DEFAULT_BETA,
    DEFAULT_TAU,
    FLOW_NOT,
    And,
    Branch,
    ColourSpec,
    ExpressionError,
    Flow,
    Or,
    Region,
    RegionSpec,
    ShapeSpec,
    ShapeUnion,
    Weighted,
    branches,
    canonical,
    parse,
    showcase,
)

X, Y, Z, COLOR, SPHERE = (Flow(n) for n in ("x", "y", "z", "color", "sphere"))
RED = ColourSpec("red", (1.0, 0.0, 0.0))
BLUE = ColourSpec("blue", (0.0, 0.0, 1.0))
TOP = RegionSpec("cap", 2, (0.75, 1.0))


def error(text):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    return caught.value


# --- grammar -----------------------------------------------------------------------------

def test_and_binds_tighter_than_or():
    assert parse("x & y | z") == Or((And((X, Y)), Z))
    assert parse("x | y & z") == Or((X, And((Y, Z))))
    assert parse("(x | y) & z") == And((Or((X, Y)), Z))
    assert parse("x & y | z") == parse("(x & y) | z")


def test_ands_flatten_and_ors_keep_their_parentheses():
    assert parse("x & (y & z)") == parse("(x & y) & z") == And((X, Y, Z))
    assert parse("x | y | z") == Or((X, Y, Z))
    assert parse("(x | y) | z") == Or((Or((X, Y)), Z))


def test_prefix_operators():
    assert parse("!red") == ColourSpec("red", RED.rgb, "not")
    assert parse("~red") == ColourSpec("red", RED.rgb, "complement")
    assert parse("!cap(z > 0.75)") == Region(TOP, -1)
    assert parse("!!cap(z > 0.75)") == parse("cap(z > 0.75)") == Region(TOP)
    assert parse("!!red") == RED
    assert parse("!(cap(z > 0.75) & red)") == And((Region(TOP, -1), parse("!red")))
    assert parse("x & !red") == And((X, parse("!red")))  # '!' binds tighter than '&'


def test_weights():
    assert parse("2*x") == Weighted(2.0, X)
    assert parse("2*x & y") == And((Weighted(2.0, X), Y))  # the weight takes one term
    assert parse("2*(x & y)") == Weighted(2.0, And((X, Y)))
    assert parse("2*3*x") == Weighted(6.0, X)
    assert parse("1*x") == X
    assert parse("0.5*x") == parse(".5*x") == parse("5e-1*x") == parse("5E-1*x")
    assert parse("-2*cap(z > 0.75)") == parse("2*!cap(z > 0.75)") == Weighted(2.0, Region(TOP, -1))
    assert parse("!2*red") == parse("2*!red")
    assert parse("-1*-1*red") == RED


def test_flows_and_the_sphere():
    for name, node in zip(("x", "y", "z", "color", "sphere"), (X, Y, Z, COLOR, SPHERE),
                          strict=True):
        assert parse(name) == parse(name.upper()) == node
    (b,) = branches(parse("sphere"))
    assert b.flows == (("x", 1.0), ("y", 1.0), ("z", 1.0))


def test_torus_and_its_defaults():
    assert parse("torus") == parse("torus(0.3, 0.1)") == parse("torus(0.3)")
    assert parse("torus") == ShapeSpec("torus", (0.3, 0.1))
    assert parse("torus(0.4, 0.05)") == ShapeSpec("torus", (0.4, 0.05))
    (b,) = branches(parse("torus(0.4, 0.05) & color"))
    assert b.shapes == ((ShapeSpec("torus", (0.4, 0.05)), 1.0),) and b.flows == (("color", 1.0),)


def test_union_of_shapes():
    e = parse("union(sphere, torus)")
    assert e == ShapeUnion((ShapeSpec("sphere"), ShapeSpec("torus", (0.3, 0.1))))
    (b,) = branches(parse("2*union(sphere, torus(0.4, 0.1), torus) & color"))
    assert b.unions == ((e.shapes[:1] + (ShapeSpec("torus", (0.4, 0.1)), e.shapes[1]), 2.0),)
    assert b.flows == (("color", 1.0),)


def test_regions_and_their_defaults():
    assert parse("cap(z > 0.75)") == Region(RegionSpec("cap", 2, (0.75, 1.0), 8.0, 0.05))
    assert parse("cap(x < -0.25)") == Region(RegionSpec("cap", 0, (-0.25, -1.0)))
    assert parse("band(y, 0.45, 0.55)") == Region(RegionSpec("band", 1, (0.45, 0.55)))
    assert parse("ball(0.5, 0.5, 0.5, 0.2)") == Region(RegionSpec("ball", None,
                                                                  (0.5, 0.5, 0.5, 0.2)))
    spec = parse("cap(z > 0.75, tau=0.1, beta=16)").spec
    assert (spec.beta, spec.tau) == (16.0, 0.1)
    assert (TOP.beta, TOP.tau) == (DEFAULT_BETA, DEFAULT_TAU) == (8.0, 0.05)
    assert parse("band(z, 0.4, 0.6, beta=4)").spec.beta == 4.0


def test_colours_as_the_reward_takes_them():
    assert parse("red") == RED and parse("Blue") == BLUE
    assert parse("white") == ColourSpec("white", (1.0, 1.0, 1.0))
    orange = parse("orange")
    assert orange.name == "orange" and orange.rgb == pytest.approx((1.0, 165 / 255, 0.0))
    assert parse("#FFA500") == ColourSpec("#ffa500", orange.rgb)
    assert parse("rebeccapurple").rgb == pytest.approx((0x66 / 255, 0x33 / 255, 0x99 / 255))
    assert parse("!green").mode == "not" and parse("~green").mode == "complement"


# --- errors, each with its position --------------------------------------------------------

@pytest.mark.parametrize("text, position, words", [
    ("(x & y", 6, "expected ')'"),
    ("sphere & (red | blue", 20, "expected ')'"),
    ("cap(z > 0.75", 12, "expected ')'"),
    ("shpere & red", 0, "unknown name 'shpere'"),
    ("x & 1.2.3*y", 4, "bad number '1.2.3'"),
    ("2x", 0, "bad number '2x'"),
    ("1e*x", 0, "bad number '1e'"),
    ("1e999*x", 0, "finite"),
    ("!x", 0, FLOW_NOT),
    ("sphere & !sphere", 9, FLOW_NOT),
    ("red & !(color & red)", 6, FLOW_NOT),
    ("-2*y", 0, FLOW_NOT),
    ("!torus", 0, "a shape has no energy to negate"),
    ("~x", 0, "'~' (soft complement) applies to a colour"),
    ("~cap(z > 0.5)", 0, "applies to a colour"),
    ("!~red", 0, "cannot negate a complement"),
    ("!(red | blue)", 0, "a mixture"),
    ("band(z, 0.5, 0.5)", 13, "HI must be above LO"),
    ("band(z, 0.6, 0.4)", 13, "HI must be above LO"),
    ("ball(0.5, 0.5, 0.5, 0)", 20, "R must be above 0"),
    ("torus(0.1, 0.2)", 11, "r < R"),
    ("torus(0.05)", 6, "r < R"),
    ("cap(z > 0.5, beta=0)", 18, "beta must be above 0"),
    ("cap(z > 0.5, tau=-1)", 17, "tau must be above 0"),
    ("cap(z > 0.5, beta=2, beta=3)", 21, "beta given twice"),
    ("cap(z > 0.5, bta=3)", 13, "expected beta= or tau="),
    ("cap(z >= 0.5)", 7, "expected a threshold"),
    ("cap(w > 0.5)", 4, "expected an axis"),
    ("cap(z = 0.5)", 6, "expected '>' or '<'"),
    ("cap", 3, "expected '(' after 'cap'"),
    ("x(1)", 1, "'x' takes no arguments"),
    ("union(sphere)", 12, "second shape"),
    ("union(sphere, red)", 14, "union takes shapes"),
    ("100*x", 0, "below 100"),
    ("50*3*x", 0, "below 100"),
    ("0*x", 0, "non-zero"),
    ("2 x", 2, "expected '*' after the weight"),
    ("", 0, "expected a term"),
    ("x &", 3, "expected a term"),
    ("x & | y", 4, "expected a term"),
    ("x y", 2, "expected '&', '|' or the end"),
    ("x $ y", 2, "unexpected character '$'"),
    ("#12345 & x", 0, "bad colour '#12345'"),
    ("cap(z > 0.5) & !cap(z > 0.5)", 0, "the terms of a branch cancel out"),
    ("60*x & 50*sphere", 0, "a weight adds up to 110 in '110*x & 50*y & 50*z'"),
    ("2*(50*x & y)", 0, "a weight adds up to 100"),
    ("(x | y) & " * 6 + "(x | y)", 0, "more than 64 branches"),
    ("(" * 500 + "x" + ")" * 500, 0, "nested too deeply"),
])
def test_errors_say_what_and_where(text, position, words):
    e = error(text)
    assert isinstance(e, InputError)  # a user's mistake: exit code 2 on the command line
    assert e.position == position, str(e)
    assert words in str(e)
    assert f"at column {position + 1}" in str(e)


def test_an_unknown_name_is_named_and_close_names_suggested():
    e = error("sphere & shpere")
    assert str(e).startswith("unknown name 'shpere' at column 10: did you mean 'sphere'")
    assert "did you mean 'red'" in str(error("rde")) and "'color'" in str(error("colour"))
    assert "'orange'" in str(error("ornage")) and "'torus'" in str(error("tours(0.3, 0.1)"))
    plain = error("qq")
    assert "unknown name 'qq'" in str(plain) and "not a flow" in str(plain)
    assert "did you mean 'beta'" in str(error("cap(z > 0.5, bta=3)"))


def test_a_not_of_a_flow_gives_the_issues_message():
    assert str(error("!x")) == f"{FLOW_NOT} ('!x') at column 1"
    assert error("sphere & color & !(x & y)").reason.startswith(FLOW_NOT)


# --- the canonical form ------------------------------------------------------------------

@pytest.mark.parametrize("text, text_out", [
    ("sphere&color&(red|blue)", "sphere & color & (red | blue)"),
    ("(x & y) | z", "x & y | z"),
    ("x & (y | z)", "x & (y | z)"),
    ("(x | y) | z", "(x | y) | z"),
    ("2.0*x", "2*x"),
    ("0.50*X", "0.5*x"),
    ("1e-3*x", "0.001*x"),
    ("2*(x & y)", "2*(x & y)"),
    ("2*(x | y) | z", "2*(x | y) | z"),
    ("-2*cap(z>0.75)", "2*!cap(z > 0.75)"),
    ("!2*RED", "2*!red"),
    ("!(cap(z > .75) & blue)", "!cap(z > 0.75) & !blue"),
    ("cap(z > .75, beta=8, tau=0.05)", "cap(z > 0.75)"),
    ("cap(z<0.25,tau=0.1,beta=16)", "cap(z < 0.25, beta=16, tau=0.1)"),
    ("band(z,.45,.55)", "band(z, 0.45, 0.55)"),
    ("ball(.5,.5,.5,.2,beta=4)", "ball(0.5, 0.5, 0.5, 0.2, beta=4)"),
    ("torus(0.3, 0.1)", "torus"),
    ("torus(0.4)", "torus(0.4, 0.1)"),
    ("union(sphere,torus)", "union(sphere, torus)"),
    ("Orange & #FFA500 & ~teal", "orange & #ffa500 & ~teal"),
    ("!!cap(z > 0.75)", "cap(z > 0.75)"),
])
def test_canonical_text(text, text_out):
    assert canonical(parse(text)) == text_out
    assert parse(text_out) == parse(text)


def test_the_showcase_is_the_issues_gallery_and_parses():
    gallery = showcase()
    assert gallery == {
        "a sphere with a hole": "sphere & color & red & !cap(z > 0.75)",
        "a ring": "sphere & color & red & band(z, 0.45, 0.55)",
        "red | blue": "sphere & color & (red | blue)",
        "!green": "sphere & color & !green",
        "sphere | torus": "(sphere | torus) & color & red",
        "AND into a region": "sphere & color & red & cap(z > 0.75)",
    }
    for text in gallery.values():
        assert canonical(parse(text)) == text  # written in canonical form already


# Random expressions: text drawn from the grammar; whatever parses must round-trip.
NUMBERS = st.sampled_from(["0.25", ".5", "2", "3.5", "1e-2", "0.75", "-0.5", "7.25e1"])
ATOMS = st.sampled_from([
    "x", "y", "z", "color", "sphere", "torus", "torus(0.4, 0.05)", "union(sphere, torus)",
    "cap(z > 0.75)", "cap(x < 0.3, beta=16)", "band(y, 0.2, 0.6, tau=0.1)",
    "ball(0.5, 0.5, 0.5, 0.2)", "red", "blue", "orange", "#12ab34", "white",
])


def _compound(inner):
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.map(lambda p: f"{p[0]} & {p[1]}"),
        pair.map(lambda p: f"{p[0]} | {p[1]}"),
        inner.map(lambda a: f"({a})"),
        inner.map(lambda a: f"!{a}"),
        inner.map(lambda a: f"~{a}"),
        st.tuples(NUMBERS, inner).map(lambda p: f"{p[0]}*{p[1]}"),
    )


TEXTS = st.recursive(ATOMS, _compound, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_canonical_round_trips(text):
    try:
        e = parse(text)
    except ExpressionError as err:
        assert 0 <= err.position <= len(text)
        assume(False)
        return
    c = canonical(e)
    assert parse(c) == e
    assert canonical(parse(c)) == c
    bs = branches(e)
    assert branches(parse(c)) == bs
    assert math.fsum(b.weight for b in bs) == pytest.approx(1.0)
    for b in bs:  # a branch's text is that branch alone
        (again,) = branches(parse(b.describe()))
        assert again == Branch(b.flows, b.shapes, b.unions, b.regions, b.colours, 1.0)


# --- branches ------------------------------------------------------------------------------

def test_no_or_is_one_branch_of_weight_one():
    (b,) = branches(parse("sphere & color & red & !cap(z > 0.75)"))
    assert b.weight == 1.0
    assert b.flows == (("x", 1.0), ("y", 1.0), ("z", 1.0), ("color", 1.0))
    assert b.regions == ((TOP, -1.0),) and b.colours == ((RED, 1.0),)
    assert b.shapes == b.unions == ()
    assert b.describe() == "x & y & z & color & !cap(z > 0.75) & red"


def test_red_or_blue_is_two_branches_of_one_half():
    bs = branches(parse("sphere & color & (red | blue)"))
    assert [b.weight for b in bs] == [0.5, 0.5]
    for b, colour in zip(bs, (RED, BLUE), strict=True):
        assert [name for name, _ in b.flows] == ["x", "y", "z", "color"]
        assert b.colours == ((colour, 1.0),)


def test_weights_of_or_operands_are_shares():
    bs = branches(parse("red | 2*blue"))
    assert [b.weight for b in bs] == pytest.approx([1 / 3, 2 / 3])
    assert [b.colours for b in bs] == [((RED, 1.0),), ((BLUE, 1.0),)]  # not a weight of 2
    assert [b.weight for b in branches(parse("(x | y) | z"))] == [0.25, 0.25, 0.5]
    assert [b.weight for b in branches(parse("2*(x | y) | z"))] == pytest.approx(
        [1 / 3, 1 / 3, 1 / 3])
    assert [b.weight for b in branches(parse("(x | y) & (red | blue)"))] == [0.25] * 4


def test_other_weights_multiply_every_term_under_them():
    (b,) = branches(parse("2*(sphere & red) & 3*!cap(z > 0.75)"))
    assert b.flows == (("x", 2.0), ("y", 2.0), ("z", 2.0))
    assert b.colours == ((RED, 2.0),) and b.regions == ((TOP, -3.0),)
    bs = branches(parse("2*(x | y) & z"))
    assert [b.flows for b in bs] == [(("x", 2.0), ("z", 1.0)), (("y", 2.0), ("z", 1.0))]


def test_a_term_named_twice_adds_its_weights():
    (b,) = branches(parse("x & 2*x & sphere"))
    assert b.flows == (("x", 4.0), ("y", 1.0), ("z", 1.0))
    (b,) = branches(parse("cap(z > 0.75) & 2*!cap(z > 0.75)"))
    assert b.regions == ((TOP, -1.0),)


def test_and_distributes_over_or():
    bs = branches(parse("(sphere | torus) & color & red"))
    assert len(bs) == 2 and [b.weight for b in bs] == [0.5, 0.5]
    assert bs[0].flows == (("x", 1.0), ("y", 1.0), ("z", 1.0), ("color", 1.0))
    assert bs[0].shapes == ()
    assert bs[1].flows == (("color", 1.0),)
    assert bs[1].shapes == ((ShapeSpec("torus", (0.3, 0.1)), 1.0),)
    assert len(branches(parse("(x | y | z) & (red | blue) & (cap(z > 0.5) | torus)"))) == 12


def test_not_green_is_a_colour_in_mode_not():
    (b,) = branches(parse("sphere & color & !green"))
    ((colour, w),) = b.colours
    assert (colour.name, colour.mode, w) == ("green", "not", 1.0)
    (b,) = branches(parse("~orange"))
    assert b.colours[0][0].mode == "complement"
