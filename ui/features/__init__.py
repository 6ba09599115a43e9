"""The desk's features, each wiring its own menu actions and buttons to its windows.

``ui.desktop`` signs a user in, has ``MainWindow`` lay out the panes, then makes one of
each feature for the session (``SignedIn`` is what they share); at sign-out they go with it.
"""
