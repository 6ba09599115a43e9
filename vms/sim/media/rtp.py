"""RTP (RFC 3550) and H.264 payload (RFC 6184) packets, and RTCP sender reports."""

from __future__ import annotations

import struct

RTP_MTU = 1400
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 to 1970


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream, start codes removed."""
    out: list[bytes] = []
    i, n = 0, len(data)
    start = -1
    while i + 3 <= n:
        if data[i] == 0 and data[i + 1] == 0 and (data[i + 2] == 1 or (
                data[i + 2] == 0 and i + 3 < n and data[i + 3] == 1)):
            sc = 3 if data[i + 2] == 1 else 4
            if start >= 0:
                out.append(data[start:i].rstrip(b"\x00") if i > start else b"")
            start = i + sc
            i += sc
        else:
            i += 1
    if start >= 0 and start < n:
        out.append(data[start:])
    return [x for x in out if x]


def h264_payloads(access_unit: bytes, mtu: int = RTP_MTU) -> list[bytes]:
    """RTP payloads for one access unit: single NAL packets, FU-A for large NALs."""
    payloads: list[bytes] = []
    for nal in split_annexb(access_unit):
        if nal[0] & 0x1F == 9:  # access unit delimiters are not sent (RFC 6184 allows)
            continue
        if len(nal) <= mtu:
            payloads.append(nal)
            continue
        header = nal[0]
        fu_ind = (header & 0xE0) | 28
        ntype = header & 0x1F
        body = nal[1:]
        chunks = [body[i:i + mtu - 2] for i in range(0, len(body), mtu - 2)]
        for k, chunk in enumerate(chunks):
            fu_hdr = ntype | (0x80 if k == 0 else 0) | (0x40 if k == len(chunks) - 1 else 0)
            payloads.append(bytes((fu_ind, fu_hdr)) + chunk)
    return payloads


_HDR = struct.Struct("!BBHII")


def rtp_packet(pt: int, seq: int, ts: int, ssrc: int, marker: bool, payload: bytes) -> bytes:
    return _HDR.pack(0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF,
                     ssrc) + payload


def parse_rtp(data: bytes) -> tuple[int, int, int, int, bytes] | None:
    """(payload type, seq, timestamp, ssrc, payload) or None if it is not RTP v2."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    b0, b1, seq, ts, ssrc = _HDR.unpack_from(data)
    off = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # header extension
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack_from("!H", data, off + 2)[0]
    end = len(data)
    if b0 & 0x20 and end > off:  # padding
        end -= data[-1]
    if off > end:
        return None
    return b1 & 0x7F, seq, ts, ssrc, data[off:end]


def ntp_timestamp(posix: float) -> tuple[int, int]:
    sec = int(posix) + NTP_EPOCH_OFFSET
    frac = int((posix % 1.0) * (1 << 32)) & 0xFFFFFFFF
    return sec & 0xFFFFFFFF, frac


def rtcp_sender_report(ssrc: int, posix: float, rtp_ts: int, packets: int, octets: int,
                       cname: str) -> bytes:
    """A compound RTCP packet: SR followed by SDES CNAME (RFC 3550 6.1)."""
    sec, frac = ntp_timestamp(posix)
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, sec, frac, rtp_ts & 0xFFFFFFFF,
                     packets & 0xFFFFFFFF, octets & 0xFFFFFFFF)
    name = cname.encode()[:255]
    item = bytes((1, len(name))) + name + b"\x00"
    item += b"\x00" * (-(len(item) + 4) % 4)
    sdes = struct.pack("!BBHI", 0x81, 202, (len(item) + 4) // 4, ssrc) + item
    return sr + sdes


def parse_sender_report(data: bytes) -> tuple[int, float, int] | None:
    """(ssrc, POSIX time, RTP timestamp) of the first SR in a compound packet."""
    off = 0
    while off + 4 <= len(data):
        pt = data[off + 1]
        length = (struct.unpack_from("!H", data, off + 2)[0] + 1) * 4
        if pt == 200 and off + 20 <= len(data):
            ssrc, sec, frac, rtp_ts = struct.unpack_from("!IIII", data, off + 4)
            return ssrc, sec - NTP_EPOCH_OFFSET + frac / (1 << 32), rtp_ts
        off += length
    return None
