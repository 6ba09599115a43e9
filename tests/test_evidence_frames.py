"""The frame index's UTC text: made once per second, it must equal the datetime route."""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

from vms.evidence.frames import _UtcText
from vms.evidence.utc import iso


def test_frame_times_equal_iso_of_start_plus_the_packet_time() -> None:
    rng = random.Random(7)
    starts = [dt.datetime(2026, 10, 25, 0, 59, 52, 123456, tzinfo=dt.UTC),  # the clock change
              dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),  # year end
              dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)]
    checked = 0
    for start in starts:
        text = _UtcText(start)
        for tb in (Fraction(1, 12800), Fraction(1, 90000), Fraction(1, 8000), Fraction(1, 25)):
            pts_values = sorted(rng.randrange(0, 3600 * tb.denominator) for _ in range(400))
            pts_values += list(range(0, 64))  # 12800ths hit exact half-microsecond ties
            for pts in pts_values:
                seconds = float(pts * tb)
                assert text.at(seconds) == iso(start + dt.timedelta(seconds=seconds)), \
                    (start, tb, pts)
                checked += 1
    assert checked > 5000
