import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shopper.core.geo import (
    EARTH_RADIUS_METRES,
    Band,
    Point,
    band,
    distance_metres,
    parse_accuracy,
    parse_point,
)

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.builds(Point, latitudes, longitudes)
HALF_CIRCUMFERENCE = math.pi * EARTH_RADIUS_METRES
WEST_LAKE = Point(30.2570, 120.1620)


@given(points, points)
def test_distance_is_symmetric_and_never_negative(a, b):
    assert distance_metres(a, b) == pytest.approx(distance_metres(b, a), abs=1e-6)
    assert 0 <= distance_metres(a, b) <= HALF_CIRCUMFERENCE * (1 + 1e-9)


@given(points)
def test_a_point_is_no_distance_from_itself(a):
    assert distance_metres(a, a) == pytest.approx(0, abs=1e-6)


@given(points, points, points)
def test_distance_obeys_the_triangle_inequality(a, b, c):
    assert distance_metres(a, c) <= distance_metres(a, b) + distance_metres(b, c) + 1e-3


@given(latitudes, st.floats(min_value=0.0, max_value=1.0))
def test_a_degree_of_latitude_is_about_111_km(latitude, fraction):
    assume(latitude + fraction <= 90)
    north = Point(latitude + fraction, 0)
    assert distance_metres(Point(latitude, 0), north) == pytest.approx(
        fraction * 111_195, rel=1e-6, abs=1e-3
    )


def test_known_distance_between_two_hangzhou_outlets():
    binjiang = Point(30.2100, 120.2300)
    # West Lake to Binjiang is about 8 km as the crow flies
    assert 7_500 < distance_metres(WEST_LAKE, binjiang) < 8_500


@given(points, points, st.floats(min_value=1, max_value=10_000))
def test_near_exactly_when_within_the_distance(phone, outlet, near):
    found = band(phone, outlet, near)
    assert (found is Band.NEAR) == (distance_metres(phone, outlet) <= near)
    assert found in (Band.NEAR, Band.FAR)


@given(st.one_of(st.none(), points), st.one_of(st.none(), points))
def test_no_band_when_either_place_is_not_given(phone, outlet):
    assume(phone is None or outlet is None)
    assert band(phone, outlet) is None


def test_the_default_near_distance_is_300_metres():
    # 0.0027° of latitude ≈ 300 m
    assert band(Point(30.2570 + 0.0026, 120.1620), WEST_LAKE) is Band.NEAR
    assert band(Point(30.2570 + 0.0028, 120.1620), WEST_LAKE) is Band.FAR


@given(latitudes, longitudes)
def test_parsing_gives_back_the_point(latitude, longitude):
    assert parse_point(repr(latitude), repr(longitude)) == Point(latitude, longitude)


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [("", "120"), ("30", ""), ("91", "120"), ("-90.5", "0"), ("0", "180.1"), ("nan", "0"),
     ("inf", "0"), ("30", "-inf"), ("thirty", "120"), ("30,2", "120")],
)  # fmt: skip
def test_what_is_not_a_position_is_refused(latitude, longitude):
    with pytest.raises(ValueError):
        parse_point(latitude, longitude)


@pytest.mark.parametrize("accuracy", ["-1", "nan", "inf", "100001", "far"])
def test_an_implausible_accuracy_is_refused(accuracy):
    with pytest.raises(ValueError):
        parse_accuracy(accuracy)


def test_accuracy_may_be_left_out():
    assert parse_accuracy("") is None
    assert parse_accuracy(" 12.5 ") == 12.5
