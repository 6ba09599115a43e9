"""Media of the simulated devices: cached clips, RTP packetization, the RTSP server."""
