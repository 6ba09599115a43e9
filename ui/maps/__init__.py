"""The site map window."""
