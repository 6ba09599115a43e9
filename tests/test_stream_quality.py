"""The tile's stream-quality mark (``vms.wall.quality``): which stream, frames a second, and
what the wall drops."""

from __future__ import annotations

from vms.wall.quality import Rate, RateMeter, words


def test_the_rate_is_over_two_seconds_and_restarts_with_a_new_feed() -> None:
    meter = RateMeter()
    feed_a, feed_b = object(), object()
    assert meter.sample(100.0, feed_a, 0, 0) is None
    assert meter.sample(101.0, feed_a, 25, 25) is None  # one second is not a window yet
    rate = meter.sample(102.0, feed_a, 50, 50)
    assert rate == Rate(25.0, 25.0)
    # 30 delivered a second, 25 painted (a 40 ms paint timer): marked short
    for t in range(3, 8):
        rate = meter.sample(100.0 + t, feed_a, 50 + 30 * (t - 2), 50 + 25 * (t - 2))
    assert rate is not None and rate.delivered == 30 and rate.shown == 25 and rate.short
    assert words("sub", rate) == "SD 25/30 fps"
    assert meter.sample(108.0, feed_b, 0, 0) is None  # main stream now: counted afresh


def test_the_mark_in_words() -> None:
    assert words(None, None) == ""
    assert words("sub", None) == "SD"
    assert words("main", Rate(25.2, 24.9)) == "HD 25 fps"
    assert words("main", Rate(12.0, 12.0)) == "HD 12 fps"  # a camera sending 12: not short
    assert words("sub", Rate(25.0, 10.0)) == "SD 10/25 fps"
    assert not Rate(0.4, 0.0).short  # nothing arriving is not a drop (the state says frozen)
