"""ONVIF client side: talking to real cameras (onvif-zeep-async) and onboarding them."""
