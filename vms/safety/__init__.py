"""What stands between hostile input and the rest of the core: XML parsed with no entities
and bounded size (``xmlsafe``), credentials scrubbed from any text we show or log
(``redact``), and stream URIs checked before FFmpeg opens them (``streamsafe``)."""
