"""Audio for Help Point calls: G.711, the ONVIF backchannel, announcements."""
