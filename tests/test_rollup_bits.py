"""The rollup dimension bits: every stored rollup row names its set by them (``Rollup.dims``).

These numbers are in the database. Changing one, or the dimensions of a set in ``rollups.SETS``,
makes the stored rows mean something else: it needs a migration that rebuilds the rollups
(``rollups.rebuild()``), not just an edit here. A new dimension takes the next unused bit and
is added to ``BITS``; the bits of the others stay as they are.
"""

from datetime import UTC, datetime

from analytics import rollups
from analytics.filters import DIMENSIONS
from analytics.models import Rollup

BITS = {
    "campaign": 0,
    "country": 1,
    "device": 2,
    "referer": 3,
    "sender": 4,
    "browser": 5,
    "os": 6,
    "city": 7,
    "bot_reason": 8,
}
SET_KEYS = {
    (): 0,
    ("campaign",): 1,
    ("country",): 2,
    ("device",): 4,
    ("sender",): 16,
    ("browser",): 32,
    ("os",): 64,
    ("bot_reason",): 256,
    ("country", "device"): 6,
    ("sender", "device", "browser", "os"): 116,
    ("referer",): 8,
    ("country", "city"): 130,
    ("campaign", "country"): 3,
    ("campaign", "referer"): 9,
    ("campaign", "city"): 129,
    ("country", "referer"): 10,
    ("campaign", "sender", "device", "browser", "os"): 117,
    ("country", "sender", "device", "browser", "os"): 118,
    ("campaign", "country", "device"): 7,
    ("country", "device", "referer"): 14,
    ("country", "city", "device"): 134,
}


def test_every_dimension_keeps_its_bit() -> None:
    assert {key: spec.rollup_bit for key, spec in DIMENSIONS.items()} == BITS


def test_bits_are_distinct_and_fit_the_dims_column() -> None:
    bits = [spec.rollup_bit for spec in DIMENSIONS.values()]
    assert len(set(bits)) == len(bits)
    # Rollup.dims is a PositiveSmallIntegerField: 0 to 32767, so bits 0 to 14.
    assert all(0 <= bit <= 14 for bit in bits)


def test_every_set_keeps_its_stored_name() -> None:
    assert {dims: rollups.dims_key(dims) for dims in rollups.SETS} == SET_KEYS


def test_the_stored_name_does_not_depend_on_the_order_of_dimensions() -> None:
    assert rollups.dims_key(("city", "country")) == rollups.dims_key(("country", "city")) == 130


def test_a_stored_name_reads_back_as_its_dimensions() -> None:
    for dims, key in SET_KEYS.items():
        assert set(rollups.dims_names(key)) == set(dims)
    march = datetime(2026, 3, 1, tzinfo=UTC)
    city = Rollup(dims=130, grain=Rollup.Grain.DAY, period=march)
    assert str(city) == "country|city Day (UTC) 2026-03-01 00:00"
    assert (
        str(Rollup(dims=0, grain=Rollup.Grain.MONTH, period=march))
        == "total Month (UTC) 2026-03-01 00:00"
    )
