"""FFmpeg failures in one plain sentence, for every reader of a camera stream.

FFmpeg's own messages can carry the URL, and with it the camera's password, so none of
them is shown: each kind of failure gets its sentence, naming ``where`` (host:port or the
camera's name). Used by the live feeds, listening and the recorder alike.
"""

from __future__ import annotations

import av.error

from vms.errors import VmsError


def credentials_refused(exc: BaseException) -> bool:
    return isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError)


def explain(exc: BaseException, where: str, what: str = "stream") -> str:
    """``what``: the stream's kind in the sentence, e.g. "audio stream"."""
    if isinstance(exc, VmsError):  # already a plain sentence (e.g. a refused clear-text password)
        return str(exc)
    if credentials_refused(exc):
        return f"{where} refused the user name or password"
    if isinstance(exc, av.error.HTTPNotFoundError):
        return f"{where} has no such {what} (404); the camera's profiles may have changed"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection: the camera is off or not serving video"
    if isinstance(exc, av.error.ExitError | TimeoutError):
        return f"{where} did not answer in time"
    if isinstance(exc, av.error.EOFError):
        return f"{where} closed the {what}"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{where}: {exc.strerror or 'network error'}"
    if isinstance(exc, av.error.InvalidDataError):
        return f"{where} sent a {what} that cannot be read"
    return f"{where}: the {what} failed ({type(exc).__name__})"
