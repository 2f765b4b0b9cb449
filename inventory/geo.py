"""Distances for "stores near me": a postal code or coordinates to a point, great-circle distance.

A French postal code is placed at its département's prefecture, from the small table below: good
enough to rank stores hundreds of metres to hundreds of kilometres apart, and no geocoding service
to call (or to fail) while a shopper waits.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

EARTH_RADIUS_KM = 6371.0
POSTAL_CODE = re.compile(r"^\d{5}$")


class GeoPoint(NamedTuple):
    latitude: float
    longitude: float


# Département code -> its prefecture (latitude, longitude), rounded to about 100 metres.
DEPARTEMENTS: dict[str, GeoPoint] = {
    code: GeoPoint(lat, lng)
    for code, lat, lng in (
        ("01", 46.205, 5.226), ("02", 49.564, 3.620), ("03", 46.566, 3.333),
        ("04", 44.092, 6.236), ("05", 44.559, 6.079), ("06", 43.710, 7.262),
        ("07", 44.735, 4.599), ("08", 49.762, 4.726), ("09", 42.965, 1.607),
        ("10", 48.297, 4.074), ("11", 43.213, 2.349), ("12", 44.350, 2.575),
        ("13", 43.296, 5.370), ("14", 49.183, -0.371), ("15", 44.926, 2.440),
        ("16", 45.648, 0.156), ("17", 46.160, -1.151), ("18", 47.081, 2.398),
        ("19", 45.267, 1.771), ("2A", 41.919, 8.738), ("2B", 42.697, 9.450),
        ("21", 47.322, 5.041), ("22", 48.514, -2.765), ("23", 46.171, 1.871),
        ("24", 45.184, 0.721), ("25", 47.238, 6.024), ("26", 44.933, 4.892),
        ("27", 49.027, 1.151), ("28", 48.446, 1.489), ("29", 47.996, -4.102),
        ("30", 43.837, 4.360), ("31", 43.605, 1.444), ("32", 43.646, 0.586),
        ("33", 44.838, -0.579), ("34", 43.611, 3.877), ("35", 48.117, -1.678),
        ("36", 46.810, 1.691), ("37", 47.394, 0.685), ("38", 45.188, 5.724),
        ("39", 46.675, 5.555), ("40", 43.890, -0.500), ("41", 47.586, 1.336),
        ("42", 45.440, 4.387), ("43", 45.043, 3.885), ("44", 47.218, -1.554),
        ("45", 47.903, 1.909), ("46", 44.447, 1.441), ("47", 44.203, 0.616),
        ("48", 44.518, 3.500), ("49", 47.478, -0.563), ("50", 49.116, -1.091),
        ("51", 48.957, 4.365), ("52", 48.111, 5.139), ("53", 48.073, -0.770),
        ("54", 48.692, 6.184), ("55", 48.773, 5.160), ("56", 47.658, -2.760),
        ("57", 49.119, 6.176), ("58", 46.990, 3.159), ("59", 50.629, 3.057),
        ("60", 49.430, 2.081), ("61", 48.432, 0.091), ("62", 50.291, 2.778),
        ("63", 45.778, 3.087), ("64", 43.296, -0.370), ("65", 43.233, 0.078),
        ("66", 42.699, 2.895), ("67", 48.573, 7.752), ("68", 48.079, 7.358),
        ("69", 45.764, 4.836), ("70", 47.622, 6.156), ("71", 46.307, 4.828),
        ("72", 48.006, 0.199), ("73", 45.564, 5.918), ("74", 45.899, 6.129),
        ("75", 48.857, 2.352), ("76", 49.443, 1.099), ("77", 48.540, 2.660),
        ("78", 48.805, 2.130), ("79", 46.323, -0.464), ("80", 49.894, 2.296),
        ("81", 43.929, 2.148), ("82", 44.018, 1.355), ("83", 43.124, 5.928),
        ("84", 43.949, 4.806), ("85", 46.670, -1.426), ("86", 46.580, 0.340),
        ("87", 45.834, 1.261), ("88", 48.174, 6.450), ("89", 47.798, 3.567),
        ("90", 47.640, 6.863), ("91", 48.629, 2.441), ("92", 48.892, 2.207),
        ("93", 48.908, 2.439), ("94", 48.790, 2.455), ("95", 49.036, 2.063),
        ("971", 15.998, -61.726), ("972", 14.616, -61.059), ("973", 4.922, -52.313),
        ("974", -20.882, 55.450), ("976", -12.781, 45.228),
    )
}  # fmt: skip


def departement_of(postal_code: str) -> str | None:
    """The département a French postal code belongs to, or None if it is not one."""
    code = postal_code.strip()
    if not POSTAL_CODE.match(code):
        return None
    if code.startswith("97"):
        departement = code[:3]
    elif code.startswith("20"):
        # Corsica: 200xx and 201xx are Corse-du-Sud, 202xx and 206xx Haute-Corse.
        departement = "2A" if code < "20200" else "2B"
    else:
        departement = code[:2]
    return departement if departement in DEPARTEMENTS else None


def point_for_postal_code(postal_code: str) -> GeoPoint | None:
    """Where to search from for a French postal code, or None if it is not a known one."""
    departement = departement_of(postal_code)
    return DEPARTEMENTS[departement] if departement else None


def distance_km(origin: GeoPoint, destination: GeoPoint) -> float:
    """Great-circle (haversine) distance between two points, in kilometres."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*origin, *destination))
    half_chord = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(half_chord))
