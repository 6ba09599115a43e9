"""Loaned perimeter cameras: sites, 30-day deployments, extensions and removals."""
