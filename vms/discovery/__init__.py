"""Finding ONVIF devices: WS-Discovery (multicast and unicast/range probes)."""
