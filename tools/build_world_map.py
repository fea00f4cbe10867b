"""Builds the dashboard's world map from world-atlas's TopoJSON (run once per world-atlas update).

    .venv/bin/python tools/build_world_map.py

Reads analytics/static/analytics/vendor/world-atlas-2.0.2/countries-110m.json (Natural Earth's
1:110m countries, as the npm package world-atlas ships them) and writes world-110m.json beside
it: each country's SVG path, projected (Natural Earth I) and rounded to 0.1 unit, keyed by ISO
3166-1 alpha-2 (world-atlas keys countries by ISO numeric code), with its name. Antarctica is
left out: no clicks come from it, and it takes a fifth of the height. The browser then draws
the map with no library (analytics/static/analytics/dashboard/map.js).
"""

import json
import math
from pathlib import Path

import pycountry

VENDOR = Path(__file__).resolve().parent.parent / "analytics/static/analytics/vendor"
SOURCE = VENDOR / "world-atlas-2.0.2" / "countries-110m.json"
TARGET = VENDOR / "world-atlas-2.0.2" / "world-110m.json"
SCALE = 150  # map units per radian
# Features world-atlas gives no numeric id; Kosovo has a code in common use (XK).
BY_NAME = {"Kosovo": "XK"}
LEFT_OUT = {"AQ"}

Point = tuple[float, float]


def natural_earth(lon: float, lat: float) -> Point:
    """The Natural Earth I projection (as d3-geo's geoNaturalEarth1), y pointing down."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (
        0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4))
    )
    y = phi * (
        1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4))
    )
    return x * SCALE, -y * SCALE


def decode_arcs(topology: dict) -> list[list[Point]]:
    """The arcs in longitude and latitude: TopoJSON stores them quantized and delta-encoded."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list[list[Point]]) -> list[Point]:
    points: list[Point] = []
    for index in indexes:
        # A negative index is the arc ~index reversed; consecutive arcs share their end point.
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def path(polygons: list[list[list[int]]], arcs: list[list[Point]]) -> str:
    parts = []
    for polygon in polygons:
        for indexes in polygon:
            projected = []
            for lon, lat in ring(indexes, arcs):
                x, y = natural_earth(lon, lat)
                point = (round(x, 1), round(y, 1))
                if not projected or projected[-1] != point:
                    projected.append(point)
            if len(projected) >= 3:
                first, *rest = projected
                line = " ".join(f"{x:g} {y:g}" for x, y in rest)
                parts.append(f"M{first[0]:g} {first[1]:g}L{line}Z")
    return "".join(parts)


def alpha2(geometry: dict) -> str | None:
    if "id" not in geometry:
        return BY_NAME.get(geometry["properties"]["name"])
    country = pycountry.countries.get(numeric=geometry["id"])
    return country.alpha_2 if country else None


def build() -> dict:
    topology = json.loads(SOURCE.read_text())
    arcs = decode_arcs(topology)
    countries = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = alpha2(geometry)
        if code is None or code in LEFT_OUT:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        countries[code] = {"name": geometry["properties"]["name"], "d": path(polygons, arcs)}
    # The frame: the whole projected globe's width, and the height the countries kept need.
    left, _ = natural_earth(-180, 0)
    top = min(natural_earth(0, 84)[1], -1)
    bottom = natural_earth(0, -56)[1]
    box = [round(left, 1), round(top, 1), round(-2 * left, 1), round(bottom - top, 1)]
    return {
        "source": "world-atlas 2.0.2 countries-110m (Natural Earth), ISC; see README.md",
        "viewBox": " ".join(f"{v:g}" for v in box),
        "countries": dict(sorted(countries.items())),
    }


if __name__ == "__main__":
    data = build()
    TARGET.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{TARGET}: {len(data['countries'])} countries, {TARGET.stat().st_size} bytes")
