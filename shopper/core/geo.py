"""Distance on the earth and the check-in band: how far the phone was from the outlet.

Pure: no Flask, no database. Only the band leaves this module's callers, never a position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

EARTH_RADIUS_METRES = 6_371_008.8  # the mean radius (IUGG)
NEAR_METRES = 300.0  # the default; configuration says CHECKIN_NEAR_METRES
MAX_ACCURACY_METRES = 100_000.0  # a phone reporting worse than this is not giving a position


class Band(StrEnum):
    NEAR = "near"
    FAR = "far"


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude) and math.isfinite(self.longitude)):
            raise ValueError("coordinates must be finite numbers")
        if not -90 <= self.latitude <= 90:
            raise ValueError("latitude must be between -90 and 90")
        if not -180 <= self.longitude <= 180:
            raise ValueError("longitude must be between -180 and 180")


def parse_point(latitude: str, longitude: str) -> Point:
    """A point from the phone's decimal degrees; ValueError for anything else."""
    lat, lon = float(latitude.strip()), float(longitude.strip())
    return Point(lat, lon)


def parse_accuracy(accuracy: str) -> float | None:
    """The phone's accuracy radius in metres ("" = not given); ValueError when implausible."""
    if not accuracy.strip():
        return None
    value = float(accuracy)
    if not (math.isfinite(value) and 0 <= value <= MAX_ACCURACY_METRES):
        raise ValueError("accuracy must be between 0 and 100 km")
    return value


def distance_metres(a: Point, b: Point) -> float:
    """Great-circle distance by the haversine formula (good to ~0.5 % anywhere)."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi = phi2 - phi1
    dlam = math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(h)))


def band(
    phone: Point | None, outlet: Point | None, near_metres: float = NEAR_METRES
) -> Band | None:
    """NEAR within `near_metres` of the outlet, FAR beyond; None when either place is not given."""
    if phone is None or outlet is None:
        return None
    return Band.NEAR if distance_metres(phone, outlet) <= near_metres else Band.FAR
