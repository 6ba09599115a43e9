"""Clips for the simulated cameras: rendered and encoded once with PyAV, then cached.

Each device streams a 60-second loop showing its name, location, stream and a
burned-in clock. The loop is played against the device's own wall clock, so the
seconds and tenths shown are the device's time of that frame (the loop has one
frame per tenth for 10 fps); hours and minutes cannot be burned into a cached
loop and show as ``··:··``. Encoding happens once per device and stream (never
per viewer): the H.264 access units are written to the profile's cache with a
JSON index, and loaded into memory at start.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vms.audio import g711

LOOP_SECONDS = 60
RENDER_VERSION = 4
AUDIO_RATE = 8000


@dataclass(frozen=True)
class ClipSpec:
    device: str
    location: str
    label: str  # "Camera", "Help Point", "Perimeter (PID)"
    width: int
    height: int
    fps: int

    def key(self) -> str:
        raw = json.dumps([RENDER_VERSION, LOOP_SECONDS, self.device, self.location, self.label,
                          self.width, self.height, self.fps])
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def filename(self) -> str:
        return f"{self.device}-{self.width}x{self.height}-{self.fps}fps-{self.key()}.h264"


@dataclass
class Clip:
    spec: ClipSpec
    frames: list[bytes]  # Annex B access units, in display order (no B-frames)
    keyframes: list[bool]
    sps: bytes
    pps: bytes


_FONT_CACHE: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except (TypeError, OSError):  # Pillow without FreeType
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def _background(w: int, h: int, seed: str) -> Image.Image:
    hue = int(hashlib.sha256(seed.encode()).hexdigest()[:2], 16) / 255.0
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    base = np.array([0.25 + 0.35 * hue, 0.35, 0.55 - 0.3 * hue], dtype=np.float32)
    img = (base[None, None, :] * (0.55 + 0.45 * y[..., None]) * (0.8 + 0.2 * x[..., None]))
    # a street-ish horizon band
    img[int(h * 0.62):, :, :] *= 0.6
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8), "RGB")


def render_frame(spec: ClipSpec, index: int, bg: Image.Image | None = None,
                 clock: str | None = None) -> Image.Image:
    """Frame ``index`` of the loop; ``clock`` overrides the burned-in time (snapshots)."""
    w, h = spec.width, spec.height
    img = (bg or _background(w, h, spec.device)).copy()
    d = ImageDraw.Draw(img)
    t = index / spec.fps
    # A walker crossing the scene once every 12 s, so pixels change as video does.
    phase = (t % 12.0) / 12.0
    px = int(phase * (w + 0.2 * w)) - int(0.1 * w)
    py = int(h * 0.62) - int(h * 0.18) + int(math.sin(t * 6.0) * h * 0.01)
    d.rectangle([px, py, px + int(w * 0.04), py + int(h * 0.18)], fill=(230, 200, 60))
    d.ellipse([px, py - int(h * 0.06), px + int(w * 0.04), py], fill=(240, 220, 190))
    s = h / 720.0
    d.rectangle([0, 0, w, int(110 * s)], fill=(10, 14, 22))
    d.text((int(24 * s), int(12 * s)), spec.device, font=font(max(10, int(56 * s))),
           fill=(255, 255, 255))
    d.text((int(24 * s), int(74 * s)), f"{spec.label} · {spec.location}",
           font=font(max(8, int(26 * s))), fill=(180, 200, 230))
    sec = t % LOOP_SECONDS
    tenths = round(sec * 10) % (LOOP_SECONDS * 10)  # x.96 s is x+1.0, not x.0
    stamp = clock or f"··:··:{tenths // 10:02d}.{tenths % 10}"
    d.rectangle([w - int(330 * s), h - int(74 * s), w, h], fill=(0, 0, 0))
    d.text((w - int(316 * s), h - int(66 * s)), stamp, font=font(max(10, int(50 * s))),
           fill=(120, 255, 120))
    d.text((int(24 * s), h - int(44 * s)), f"SIMULATED · {spec.width}x{spec.height}",
           font=font(max(8, int(24 * s))), fill=(255, 190, 80))
    return img


def encode_clip(spec: ClipSpec, out: Path) -> Path:
    """Render and encode the loop to ``out`` (Annex B) plus ``out.json`` (the index)."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = spec.width, spec.height
    ctx.pix_fmt = "yuv420p"
    ctx.framerate = Fraction(spec.fps, 1)
    ctx.time_base = Fraction(1, spec.fps)
    ctx.gop_size = spec.fps
    ctx.max_b_frames = 0
    ctx.options = {
        "preset": "veryfast", "profile": "main", "crf": "27",
        # one slice per frame, keyframe every second, SPS/PPS repeated on each IDR
        "x264-params": f"keyint={spec.fps}:min-keyint={spec.fps}:scenecut=0:bframes=0:"
                       "slices=1:sliced-threads=0:repeat-headers=1:aud=0",
    }
    bg = _background(spec.width, spec.height, spec.device)
    frames: list[bytes] = []
    keys: list[bool] = []

    def collect(packets: list[av.Packet]) -> None:
        for p in packets:
            frames.append(bytes(p))
            keys.append(bool(p.is_keyframe))

    n = LOOP_SECONDS * spec.fps
    for i in range(n):
        vf = av.VideoFrame.from_image(render_frame(spec, i, bg)).reformat(format="yuv420p")
        vf.pts = i
        collect(ctx.encode(vf))
    collect(ctx.encode(None))
    if len(frames) != n or not keys[0]:
        raise RuntimeError(f"encoder gave {len(frames)} access units for {n} frames")
    tmp = out.with_suffix(".partial")
    index = []
    with open(tmp, "wb") as fh:
        for data, key in zip(frames, keys, strict=True):
            index.append([fh.tell(), len(data), key])
            fh.write(data)
    out.with_suffix(".json").write_text(json.dumps({"spec": spec.__dict__, "index": index}))
    os.replace(tmp, out)
    return out


def ensure_clip(spec: ClipSpec, cache_dir: Path) -> Path:
    path = cache_dir / spec.filename()
    if not (path.exists() and path.with_suffix(".json").exists()):
        cache_dir.mkdir(parents=True, exist_ok=True)
        encode_clip(spec, path)
    return path


def load_clip(spec: ClipSpec, path: Path) -> Clip:
    from vms.sim.media.rtp import split_annexb

    data = path.read_bytes()
    meta = json.loads(path.with_suffix(".json").read_text())
    frames = [data[o:o + n] for o, n, _ in meta["index"]]
    keys = [bool(k) for _, _, k in meta["index"]]
    nals = split_annexb(frames[0])
    sps = next((x for x in nals if x[0] & 0x1F == 7), b"")
    pps = next((x for x in nals if x[0] & 0x1F == 8), b"")
    if not sps or not pps:
        raise RuntimeError(f"{path.name}: first access unit has no SPS/PPS")
    return Clip(spec, frames, keys, sps, pps)


def snapshot_jpeg(spec: ClipSpec, clock: str, index: int) -> bytes:
    import io

    buf = io.BytesIO()
    render_frame(spec, index, clock=clock).save(buf, "JPEG", quality=80)
    return buf.getvalue()


# -- audio ------------------------------------------------------------------------

def microphone_loop(seed: str, seconds: int = LOOP_SECONDS) -> bytes:
    """A Help Point microphone: low street noise with a chime every 5 s (mu-law, 8 kHz)."""
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    n = seconds * AUDIO_RATE
    t = np.arange(n) / AUDIO_RATE
    noise = np.convolve(rng.normal(0, 600, n), np.ones(8) / 8, mode="same")
    chime = 5000 * np.sin(2 * np.pi * 660 * t) * ((t % 5.0) < 0.25)
    pcm = np.clip(noise + chime, -32768, 32767).astype(np.int16)
    return g711.encode(pcm).tobytes()
