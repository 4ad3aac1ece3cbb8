"""Status colours and their wording (cat4/common/rag.py): examples and properties. No
database."""

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cat4.common.rag import (
    Rag,
    RagColour,
    Thresholds,
    apply_staleness,
    percent_text,
    ratio_rule,
    worst_colour,
)

D = Decimal
T = Thresholds()
GREEN, AMBER, RED, GREY = RagColour.GREEN, RagColour.AMBER, RagColour.RED, RagColour.GREY

# No example database: nothing is written into the working tree.
PROPERTY = settings(deadline=None, database=None, max_examples=200)


# ----------------------------------------------------------------------------- Thresholds


def test_thresholds_default():
    assert T.green_at == D("0.95")
    assert T.red_below == D("0.85")


@pytest.mark.parametrize(
    ("green_at", "red_below"),
    [("0.95", "0.96"), ("1.01", "0.85"), ("0.95", "0"), ("0.95", "-0.1"), ("NaN", "0.5")],
)
def test_thresholds_reject_bad_limits(green_at, red_below):
    with pytest.raises(ValueError, match=r"threshold|finite"):
        Thresholds(green_at=D(green_at), red_below=D(red_below))


def test_thresholds_accept_equal_limits_and_one():
    assert Thresholds(green_at=D(1), red_below=D(1)).green_at == 1


def test_thresholds_reject_floats():
    with pytest.raises(TypeError):
        Thresholds(green_at=0.95, red_below=D("0.85"))  # type: ignore[arg-type]


def test_thresholds_are_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        Thresholds(D("0.9"), D("0.8"))  # type: ignore[misc]
    with pytest.raises(AttributeError):
        T.green_at = D("0.5")  # type: ignore[misc]


# ----------------------------------------------------------------------------- colours


def test_worst_colour():
    assert worst_colour([GREEN, RED, AMBER]) is RED
    assert worst_colour([GREY, GREEN]) is GREEN
    assert worst_colour([GREY, GREY]) is GREY
    assert worst_colour([]) is GREY


@pytest.mark.parametrize(
    ("ratio", "colour", "rule"),
    [
        ("1.2", GREEN, "at or above 95 %"),
        ("0.95", GREEN, "at or above 95 %"),
        ("0.9499", AMBER, "between 85 % and 95 %"),
        ("0.85", AMBER, "between 85 % and 95 %"),
        ("0.8499", RED, "below 85 %"),
        ("-1", RED, "below 85 %"),
    ],
)
def test_ratio_rule(ratio, colour, rule):
    assert ratio_rule(D(ratio), T) == (colour, rule)


def test_ratio_rule_shows_thresholds_as_configured():
    t = Thresholds(green_at=D("0.875"), red_below=D("0.8"))
    assert ratio_rule(D("0.85"), t) == (AMBER, "between 80 % and 87.5 %")


@pytest.mark.parametrize(
    ("ratio", "boundaries", "text"),
    [
        ("0.75", (D("0.85"), D("0.95")), "75"),
        ("0.94996", (D("0.85"), D("0.95")), "94.9"),
        ("0.95004", (D("0.85"), D("0.95")), "95.1"),
        ("0.95", (D("0.85"), D("0.95")), "95"),
        ("1.0000004", (D(1),), "100.1"),
        ("0.123", (), "12"),
    ],
)
def test_percent_text(ratio, boundaries, text):
    assert percent_text(D(ratio), boundaries=boundaries) == text


# ----------------------------------------------------------------------------- staleness


def test_stale_green_becomes_amber():
    rag = Rag(GREEN, "no milestone overdue")
    assert apply_staleness(rag, stale=True, last_update=date(2026, 10, 1)) == Rag(
        AMBER, "no milestone overdue; last update on 2026-10-01 is overdue, so not green"
    )
    assert apply_staleness(rag, stale=True, last_update=None) == Rag(
        AMBER, "no milestone overdue; no status update yet, so not green"
    )


@pytest.mark.parametrize("colour", [AMBER, RED, GREY])
def test_stale_other_colours_unchanged(colour):
    rag = Rag(colour, "x")
    assert apply_staleness(rag, stale=True, last_update=None) is rag


def test_not_stale_unchanged():
    rag = Rag(GREEN, "x")
    assert apply_staleness(rag, stale=False, last_update=None) is rag


# ============================================================================= properties

ratios = st.decimals(min_value=D("-2"), max_value=D("3"), places=6, allow_nan=False,
                     allow_infinity=False)
limits = st.decimals(min_value=D("0.01"), max_value=D("1"), places=3, allow_nan=False,
                     allow_infinity=False)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@PROPERTY
@given(ratio=ratios, boundaries=st.lists(limits, max_size=3))
def test_shown_percentage_stays_on_the_side_of_every_boundary(ratio, boundaries):
    text = percent_text(ratio, boundaries=boundaries)
    assert re.fullmatch(r"-?\d+(\.\d+)?", text)
    shown = D(text)
    for boundary in boundaries:
        limit = boundary * 100
        assert (shown > limit) == (ratio * 100 > limit)
        assert (shown < limit) == (ratio * 100 < limit)


@PROPERTY
@given(ratio=ratios, a=limits, b=limits)
def test_the_rule_colours_by_the_thresholds(ratio, a, b):
    t = Thresholds(green_at=max(a, b), red_below=min(a, b))
    colour, _rule = ratio_rule(ratio, t)
    expected = GREEN if ratio >= t.green_at else AMBER if ratio >= t.red_below else RED
    assert colour is expected


@PROPERTY
@given(colours=st.lists(st.sampled_from(list(RagColour)), max_size=6))
def test_worst_colour_is_one_of_them_and_none_is_worse(colours):
    severity = {GREEN: 0, AMBER: 1, RED: 2}
    worst = worst_colour(colours)
    judged = [c for c in colours if c is not GREY]
    assert worst is (GREY if not judged else max(judged, key=severity.__getitem__))


@PROPERTY
@given(
    colour=st.sampled_from(list(RagColour)),
    explanation=st.text(max_size=40),
    last_update=st.none() | dates,
)
def test_staleness_never_leaves_green(colour, explanation, last_update):
    rag = apply_staleness(Rag(colour, explanation), stale=True, last_update=last_update)
    assert rag.colour is not GREEN
    assert rag.explanation.startswith(explanation)
