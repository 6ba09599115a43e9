"""SOAP 1.2 ONVIF services of a simulated device."""
