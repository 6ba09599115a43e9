"""A simulated site of ONVIF devices on loopback: ``vms sim``.

Cameras, Help Points and perimeter-intrusion (PID) cameras, each with its own
HTTP port speaking SOAP 1.2 ONVIF, its own RTSP port streaming cached H.264
clips (and G.711 audio with an ONVIF backchannel on Help Points), answering
WS-Discovery, and driven by a local control API for tests, demos and training.
"""
