"""ONVIF events: PullPoint subscriptions, topic normalisation, the event store and engine."""
