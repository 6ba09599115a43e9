"""An RTSP server we did not write: GStreamer's RTSPOnvifServer with an ONVIF backchannel.

Run as a child process by the tests: ``python -m tests.gst_onvif_server OUT.raw``. It serves
``rtsp://127.0.0.1:PORT/helppoint`` (a test tone, PCMU) with a talk track offered only to
clients that send ``Require: www.onvif.org/ver20/backchannel``, decodes what it receives with
GStreamer's own mu-law decoder and appends the 16-bit samples to OUT.raw. It prints
``PORT <n>`` once listening, and with ``--auth USER:PASS`` asks for a password (HTTP Digest,
as cameras do; ``--basic`` for Basic, which Beacon refuses on plain RTSP unless allowed).
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# A talk-only client sets up just the backchannel, leaving the tone's payloader unlinked: the
# tee swallows "not-linked", which would otherwise put the whole media (talk track included)
# into an error state, racing the client's PLAY.
MEDIA = ("( audiotestsrc is-live=true wave=sine freq=440 ! mulawenc ! tee allow-not-linked=true "
         "! rtppcmupay name=pay0 pt=0 )")
BACKCHANNEL = ('( capsfilter caps="application/x-rtp, media=audio, payload=0, clock-rate=8000, '
               'encoding-name=PCMU" name=depay_backchannel ! rtppcmudepay ! mulawdec ! '
               'audio/x-raw,format=S16LE ! filesink location={out} append=true async=false '
               'buffer-mode=unbuffered )')


def loopback(server: GstRtspServer.RTSPServer) -> GstRtspServer.RTSPServer:
    """On 127.0.0.1, on a port the system picks."""
    server.set_address("127.0.0.1")
    server.set_service("0")
    return server


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--auth", default="")
    ap.add_argument("--basic", action="store_true", help="Basic instead of Digest")
    args = ap.parse_args()
    Gst.init(None)
    server = loopback(GstRtspServer.RTSPOnvifServer())
    factory = GstRtspServer.RTSPOnvifMediaFactory()
    factory.set_launch(MEDIA)
    factory.set_backchannel_launch(BACKCHANNEL.format(out=args.out))
    factory.set_shared(False)
    factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia)
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "operator")
        if args.basic:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        else:
            auth.add_digest(user, password, token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("operator", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role("operator", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                      True)
        factory.set_permissions(perms)
    return serve(server, "/helppoint", factory)


def serve(server: GstRtspServer.RTSPServer, mount: str,
          factory: GstRtspServer.RTSPMediaFactory) -> int:
    """Mount ``factory``, listen on loopback, say the port, run until killed."""
    server.get_mount_points().add_factory(mount, factory)
    server.attach(None)
    print(f"PORT {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
