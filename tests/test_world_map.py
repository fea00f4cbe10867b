"""The vendored world map is what tools/build_world_map.py makes of world-atlas's countries."""

import importlib.util
import json
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "analytics/static/analytics/vendor/world-atlas-2.0.2/world-110m.json"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_world_map", ROOT / "tools/build_world_map.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_map_is_the_one_the_script_builds():
    assert json.loads(MAP.read_text()) == _builder().build()


def test_countries_are_keyed_by_iso_alpha_2_with_a_path_each():
    countries = json.loads(MAP.read_text())["countries"]

    assert len(countries) == 174
    assert {"US", "DE", "BR", "IN", "JP", "XK"} <= set(countries)
    assert "AQ" not in countries  # Antarctica is left out
    for code, country in countries.items():
        assert code == "XK" or pycountry.countries.get(alpha_2=code), code
        assert country["d"].startswith("M") and country["d"].endswith("Z"), code
