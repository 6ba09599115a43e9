from __future__ import annotations

import pytest

from vms.redact import scrub_url


@pytest.mark.parametrize("text, expected", [
    ("rtsp://admin:s3cret@10.0.0.5:554/main", "rtsp://***@10.0.0.5:554/main"),
    ("http://user@host/x and rtsp://a:b@c/d", "http://***@host/x and rtsp://***@c/d"),
    ("rtsp://10.0.0.5/main", "rtsp://10.0.0.5/main"),
    ("mailto-like a@b without scheme", "mailto-like a@b without scheme"),
])
def test_credentials_are_scrubbed_from_urls(text: str, expected: str) -> None:
    assert scrub_url(text) == expected
