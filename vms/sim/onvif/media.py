"""Media (ver10) and Media2 (ver20) services: profiles, stream and snapshot URIs, encoders."""

from __future__ import annotations

from vms.sim.device import VIDEO_SOURCE, VIDEO_SOURCE_CONFIG, SimDevice, StreamProfile
from vms.sim.onvif.soap import NS, SoapFault, SoapRequest, el, invalid_arg, no_profile

AUDIO_SOURCE = "AS_0"
AUDIO_SOURCE_CONFIG = "ASC_0"
AUDIO_ENCODER = "AEC_0"
AUDIO_OUTPUT = "AO_0"
AUDIO_OUTPUT_CONFIG = "AOC_0"
AUDIO_DECODER = "ADC_0"
PTZ_CONFIG = "PTZC_0"
PTZ_NODE = "PTZN_0"


def snapshot_uri(dev: SimDevice, p: StreamProfile) -> str:
    return f"{dev.http_base}/onvif/snapshot/{p.token}.jpg"


def _profile_or_fault(dev: SimDevice, token: str) -> StreamProfile:
    p = dev.profile(token)
    if p is None:
        raise no_profile(token)
    return p


# -- shared fragments (Media 1) --------------------------------------------------

def _vsc(dev: SimDevice, tag: str = "tt:VideoSourceConfiguration") -> str:
    main = dev.profiles[0]
    return el(tag, [el("tt:Name", "VideoSource"), el("tt:UseCount", len(dev.profiles)),
                    el("tt:SourceToken", VIDEO_SOURCE),
                    el("tt:Bounds", x=0, y=0, width=main.width, height=main.height)],
              token=VIDEO_SOURCE_CONFIG)


def _vec(p: StreamProfile, tag: str = "tt:VideoEncoderConfiguration") -> str:
    return el(tag, [
        el("tt:Name", f"{p.name} encoder"), el("tt:UseCount", 1), el("tt:Encoding", "H264"),
        el("tt:Resolution", [el("tt:Width", p.width), el("tt:Height", p.height)]),
        el("tt:Quality", p.quality),
        el("tt:RateControl", [el("tt:FrameRateLimit", p.fps), el("tt:EncodingInterval", 1),
                              el("tt:BitrateLimit", p.bitrate_kbps)]),
        el("tt:H264", [el("tt:GovLength", p.gov_length), el("tt:H264Profile", "Main")]),
        _multicast(), el("tt:SessionTimeout", "PT60S")], token=p.encoder_token)


def _multicast() -> str:
    return el("tt:Multicast", [el("tt:Address", [el("tt:Type", "IPv4"),
                                                 el("tt:IPv4Address", "0.0.0.0")]),
                               el("tt:Port", 0), el("tt:TTL", 1), el("tt:AutoStart", False)])


def _audio_source_cfg() -> str:
    return el("tt:AudioSourceConfiguration", [el("tt:Name", "Microphone"), el("tt:UseCount", 2),
                                              el("tt:SourceToken", AUDIO_SOURCE)],
              token=AUDIO_SOURCE_CONFIG)


def _audio_encoder_cfg() -> str:
    return el("tt:AudioEncoderConfiguration", [
        el("tt:Name", "G.711"), el("tt:UseCount", 2), el("tt:Encoding", "G711"),
        el("tt:Bitrate", 64), el("tt:SampleRate", 8), _multicast(),
        el("tt:SessionTimeout", "PT60S")], token=AUDIO_ENCODER)


def _ptz_cfg(tag: str = "tt:PTZConfiguration") -> str:
    spaces = "http://www.onvif.org/ver10/tptz/"
    return el(tag, [
        el("tt:Name", "PTZ"), el("tt:UseCount", 2), el("tt:NodeToken", PTZ_NODE),
        # "Pant" is the schema's own spelling.
        el("tt:DefaultAbsolutePantTiltPositionSpace", spaces + "PanTiltSpaces/PositionGenericSpace"),
        el("tt:DefaultAbsoluteZoomPositionSpace", spaces + "ZoomSpaces/PositionGenericSpace"),
        el("tt:DefaultRelativePanTiltTranslationSpace",
           spaces + "PanTiltSpaces/TranslationGenericSpace"),
        el("tt:DefaultRelativeZoomTranslationSpace", spaces + "ZoomSpaces/TranslationGenericSpace"),
        el("tt:DefaultContinuousPanTiltVelocitySpace",
           spaces + "PanTiltSpaces/VelocityGenericSpace"),
        el("tt:DefaultContinuousZoomVelocitySpace", spaces + "ZoomSpaces/VelocityGenericSpace"),
        el("tt:DefaultPTZSpeed", [
            el("tt:PanTilt", "", x=1.0, y=1.0, space=spaces + "PanTiltSpaces/GenericSpeedSpace"),
            el("tt:Zoom", "", x=1.0, space=spaces + "ZoomSpaces/ZoomGenericSpeedSpace")]),
        el("tt:DefaultPTZTimeout", "PT10S")], token=PTZ_CONFIG)


def _profile1(dev: SimDevice, p: StreamProfile, tag: str) -> str:
    parts = [el("tt:Name", p.name), _vsc(dev)]
    if dev.is_help_point:
        parts.append(_audio_source_cfg())
    parts.append(_vec(p))
    if dev.is_help_point:
        parts.append(_audio_encoder_cfg())
    if dev.has_ptz:
        parts.append(_ptz_cfg())
    if dev.is_help_point:
        parts.append(el("tt:Extension", [
            el("tt:AudioOutputConfiguration", [
                el("tt:Name", "Speaker"), el("tt:UseCount", 2), el("tt:OutputToken", AUDIO_OUTPUT),
                el("tt:SendPrimacy", "www.onvif.org/ver20/HalfDuplex/Auto"),
                el("tt:OutputLevel", 80)], token=AUDIO_OUTPUT_CONFIG),
            el("tt:AudioDecoderConfiguration", [el("tt:Name", "G.711 decoder"),
                                                el("tt:UseCount", 2)], token=AUDIO_DECODER)]))
    return el(tag, parts, token=p.token, fixed=True)


# -- Media 1 ------------------------------------------------------------------

def get_profiles(dev: SimDevice, req: SoapRequest) -> str:
    return el("trt:GetProfilesResponse", [_profile1(dev, p, "trt:Profiles") for p in dev.profiles])


def get_profile(dev: SimDevice, req: SoapRequest) -> str:
    p = _profile_or_fault(dev, req.require("trt:ProfileToken"))
    return el("trt:GetProfileResponse", _profile1(dev, p, "trt:Profile"))


def get_stream_uri(dev: SimDevice, req: SoapRequest) -> str:
    p = _profile_or_fault(dev, req.require("trt:ProfileToken"))
    proto = req.text("trt:StreamSetup/tt:Transport/tt:Protocol", "RTSP")
    stream = req.text("trt:StreamSetup/tt:Stream", "RTP-Unicast")
    if stream != "RTP-Unicast":
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidStreamSetup"],
                        "only RTP-Unicast is offered")
    if proto not in ("RTSP", "UDP", "TCP"):
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidStreamSetup"],
                        f"transport {proto} is not offered (RTSP, UDP, TCP are)")
    return el("trt:GetStreamUriResponse", el("trt:MediaUri", [
        el("tt:Uri", dev.rtsp_uri(p)), el("tt:InvalidAfterConnect", False),
        el("tt:InvalidAfterReboot", False), el("tt:Timeout", "PT0S")]))


def get_snapshot_uri(dev: SimDevice, req: SoapRequest) -> str:
    p = _profile_or_fault(dev, req.require("trt:ProfileToken"))
    return el("trt:GetSnapshotUriResponse", el("trt:MediaUri", [
        el("tt:Uri", snapshot_uri(dev, p)), el("tt:InvalidAfterConnect", False),
        el("tt:InvalidAfterReboot", False), el("tt:Timeout", "PT0S")]))


def get_video_sources(dev: SimDevice, req: SoapRequest) -> str:
    main = dev.profiles[0]
    return el("trt:GetVideoSourcesResponse", el("trt:VideoSources", [
        el("tt:Framerate", float(main.fps)),
        el("tt:Resolution", [el("tt:Width", main.width), el("tt:Height", main.height)])],
        token=VIDEO_SOURCE))


def get_audio_sources(dev: SimDevice, req: SoapRequest) -> str:
    items = [el("trt:AudioSources", el("tt:Channels", 1), token=AUDIO_SOURCE)] \
        if dev.is_help_point else []
    return el("trt:GetAudioSourcesResponse", items)


def get_audio_outputs(dev: SimDevice, req: SoapRequest) -> str:
    items = [el("trt:AudioOutputs", "", token=AUDIO_OUTPUT)] if dev.is_help_point else []
    return el("trt:GetAudioOutputsResponse", items)


def get_video_encoder_configurations(dev: SimDevice, req: SoapRequest) -> str:
    return el("trt:GetVideoEncoderConfigurationsResponse",
              [_vec(p, "trt:Configurations") for p in dev.profiles])


def _by_encoder_token(dev: SimDevice, token: str) -> StreamProfile:
    p = next((p for p in dev.profiles if p.encoder_token == token), None)
    if p is None:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoConfig"],
                        f"no video encoder configuration {token!r}")
    return p


def get_video_encoder_configuration(dev: SimDevice, req: SoapRequest) -> str:
    p = _by_encoder_token(dev, req.require("trt:ConfigurationToken"))
    return el("trt:GetVideoEncoderConfigurationResponse", _vec(p, "trt:Configuration"))


def get_video_encoder_configuration_options(dev: SimDevice, req: SoapRequest) -> str:
    tok = req.text("trt:ConfigurationToken")
    profs = [_by_encoder_token(dev, tok)] if tok else dev.profiles
    res = [el("tt:ResolutionsAvailable", [el("tt:Width", p.width), el("tt:Height", p.height)])
           for p in profs]
    fps = dev.profiles[0].fps
    return el("trt:GetVideoEncoderConfigurationOptionsResponse", el("trt:Options", [
        el("tt:QualityRange", [el("tt:Min", 0), el("tt:Max", 10)]),
        el("tt:H264", [*res, el("tt:GovLengthRange", [el("tt:Min", 1), el("tt:Max", 10 * fps)]),
                       el("tt:FrameRateRange", [el("tt:Min", 1), el("tt:Max", fps)]),
                       el("tt:EncodingIntervalRange", [el("tt:Min", 1), el("tt:Max", 1)]),
                       el("tt:H264ProfilesSupported", "Main")])]))


def _apply_encoder(p: StreamProfile, width: int, height: int, fps: int | None,
                   bitrate: int | None, gov: int | None, quality: float | None,
                   encoding: str) -> None:
    """Accept what the cached clip can honour; refuse the rest with ConfigModify."""
    if encoding.upper() not in ("H264",):
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:ConfigModify"],
                        f"encoding {encoding} is not offered (H264 is)")
    if (width, height) != (p.width, p.height):
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:ConfigModify"],
                        f"resolution {width}x{height} is not offered for {p.name} "
                        f"({p.width}x{p.height} is)")
    if fps is not None and not 1 <= fps <= p.fps:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:ConfigModify"],
                        f"frame rate {fps} is outside 1..{p.fps}")
    if bitrate is not None:
        if not 32 <= bitrate <= 16384:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:ConfigModify"],
                            f"bitrate {bitrate} kbit/s is outside 32..16384")
        p.bitrate_kbps = bitrate
    if gov is not None:
        if not 1 <= gov <= 10 * p.fps:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:ConfigModify"],
                            f"GOV length {gov} is outside 1..{10 * p.fps}")
        p.gov_length = gov
    if quality is not None:
        p.quality = quality


def _int(text: str | None) -> int | None:
    return None if text is None else int(float(text))


def set_video_encoder_configuration(dev: SimDevice, req: SoapRequest) -> str:
    cfg = req.find("trt:Configuration")
    if cfg is None:
        raise invalid_arg("SetVideoEncoderConfiguration needs a Configuration")
    p = _by_encoder_token(dev, cfg.get("token", ""))
    try:
        _apply_encoder(p, int(cfg.findtext("tt:Resolution/tt:Width", "0", NS)),
                       int(cfg.findtext("tt:Resolution/tt:Height", "0", NS)),
                       _int(cfg.findtext("tt:RateControl/tt:FrameRateLimit", None, NS)),
                       _int(cfg.findtext("tt:RateControl/tt:BitrateLimit", None, NS)),
                       _int(cfg.findtext("tt:H264/tt:GovLength", None, NS)),
                       float(cfg.findtext("tt:Quality", str(p.quality), NS)),
                       cfg.findtext("tt:Encoding", "H264", NS))
    except ValueError as exc:
        raise invalid_arg(f"bad encoder configuration: {exc}") from exc
    return el("trt:SetVideoEncoderConfigurationResponse")


# -- Media 2 ------------------------------------------------------------------

def _vec2(p: StreamProfile, tag: str) -> str:
    return el(tag, [
        el("tt:Name", f"{p.name} encoder"), el("tt:UseCount", 1), el("tt:Encoding", "H264"),
        el("tt:Resolution", [el("tt:Width", p.width), el("tt:Height", p.height)]),
        el("tt:RateControl", [el("tt:FrameRateLimit", p.fps), el("tt:BitrateLimit", p.bitrate_kbps)],
           ConstantBitRate=False),
        el("tt:Quality", p.quality)], token=p.encoder_token, GovLength=p.gov_length, Profile="Main")


def _profile2(dev: SimDevice, p: StreamProfile) -> str:
    main = dev.profiles[0]
    cfg: list[str] = [el("tr2:VideoSource", [el("tt:Name", "VideoSource"), el("tt:UseCount", 2),
                                  el("tt:SourceToken", VIDEO_SOURCE),
                                  el("tt:Bounds", x=0, y=0, width=main.width, height=main.height)],
              token=VIDEO_SOURCE_CONFIG)]
    if dev.is_help_point:
        cfg.append(el("tr2:AudioSource", [el("tt:Name", "Microphone"), el("tt:UseCount", 2),
                                          el("tt:SourceToken", AUDIO_SOURCE)],
                      token=AUDIO_SOURCE_CONFIG))
    cfg.append(_vec2(p, "tr2:VideoEncoder"))
    if dev.is_help_point:
        cfg.append(el("tr2:AudioEncoder", [el("tt:Name", "G.711"), el("tt:UseCount", 2),
                                           el("tt:Encoding", "PCMU"), el("tt:Bitrate", 64),
                                           el("tt:SampleRate", 8)], token=AUDIO_ENCODER))
    if dev.has_ptz:
        cfg.append(_ptz_cfg("tr2:PTZ"))
    if dev.is_help_point:
        cfg.append(el("tr2:AudioOutput", [el("tt:Name", "Speaker"), el("tt:UseCount", 2),
                                          el("tt:OutputToken", AUDIO_OUTPUT),
                                          el("tt:SendPrimacy",
                                             "www.onvif.org/ver20/HalfDuplex/Auto"),
                                          el("tt:OutputLevel", 80)], token=AUDIO_OUTPUT_CONFIG))
        cfg.append(el("tr2:AudioDecoder", [el("tt:Name", "G.711 decoder"), el("tt:UseCount", 2)],
                      token=AUDIO_DECODER))
    return el("tr2:Profiles", [el("tr2:Name", p.name), el("tr2:Configurations", cfg)],
              token=p.token, fixed=True)


def get_profiles2(dev: SimDevice, req: SoapRequest) -> str:
    tok = req.text("tr2:Token")
    profs = [_profile_or_fault(dev, tok)] if tok else dev.profiles
    return el("tr2:GetProfilesResponse", [_profile2(dev, p) for p in profs])


def get_stream_uri2(dev: SimDevice, req: SoapRequest) -> str:
    p = _profile_or_fault(dev, req.require("tr2:ProfileToken"))
    proto = req.require("tr2:Protocol")
    if proto not in ("RtspUnicast", "RTSP", "RtspOverHttp"):
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidStreamSetup"],
                        f"protocol {proto} is not offered (RtspUnicast is)")
    return el("tr2:GetStreamUriResponse", el("tr2:Uri", dev.rtsp_uri(p)))


def get_snapshot_uri2(dev: SimDevice, req: SoapRequest) -> str:
    p = _profile_or_fault(dev, req.require("tr2:ProfileToken"))
    return el("tr2:GetSnapshotUriResponse", el("tr2:Uri", snapshot_uri(dev, p)))


def get_video_encoder_configurations2(dev: SimDevice, req: SoapRequest) -> str:
    ctok, ptok = req.text("tr2:ConfigurationToken"), req.text("tr2:ProfileToken")
    profs = dev.profiles
    if ctok:
        profs = [_by_encoder_token(dev, ctok)]
    elif ptok:
        profs = [_profile_or_fault(dev, ptok)]
    return el("tr2:GetVideoEncoderConfigurationsResponse",
              [_vec2(p, "tr2:Configurations") for p in profs])


def set_video_encoder_configuration2(dev: SimDevice, req: SoapRequest) -> str:
    cfg = req.find("tr2:Configuration")
    if cfg is None:
        raise invalid_arg("SetVideoEncoderConfiguration needs a Configuration")
    p = _by_encoder_token(dev, cfg.get("token", ""))
    try:
        _apply_encoder(p, int(cfg.findtext("tt:Resolution/tt:Width", "0", NS)),
                       int(cfg.findtext("tt:Resolution/tt:Height", "0", NS)),
                       _int(cfg.findtext("tt:RateControl/tt:FrameRateLimit", None, NS)),
                       _int(cfg.findtext("tt:RateControl/tt:BitrateLimit", None, NS)),
                       _int(cfg.get("GovLength")),
                       float(cfg.findtext("tt:Quality", str(p.quality), NS)),
                       cfg.findtext("tt:Encoding", "H264", NS))
    except ValueError as exc:
        raise invalid_arg(f"bad encoder configuration: {exc}") from exc
    return el("tr2:SetVideoEncoderConfigurationResponse")


MEDIA1 = {
    "GetProfiles": get_profiles, "GetProfile": get_profile, "GetStreamUri": get_stream_uri,
    "GetSnapshotUri": get_snapshot_uri, "GetVideoSources": get_video_sources,
    "GetAudioSources": get_audio_sources, "GetAudioOutputs": get_audio_outputs,
    "GetVideoEncoderConfigurations": get_video_encoder_configurations,
    "GetVideoEncoderConfiguration": get_video_encoder_configuration,
    "GetVideoEncoderConfigurationOptions": get_video_encoder_configuration_options,
    "SetVideoEncoderConfiguration": set_video_encoder_configuration,
}
MEDIA2 = {
    "GetProfiles": get_profiles2, "GetStreamUri": get_stream_uri2,
    "GetSnapshotUri": get_snapshot_uri2,
    "GetVideoEncoderConfigurations": get_video_encoder_configurations2,
    "SetVideoEncoderConfiguration": set_video_encoder_configuration2,
}
