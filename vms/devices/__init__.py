"""What the product does to a registered device: commission it (the device service), watch it
live, move it (PTZ), switch its outputs (relay: a Help Point's blue light) and link cameras to
it. Talk sits with the rest of the audio in ``vms.audio``."""
