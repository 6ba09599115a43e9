"""Loaned perimeter cameras: premises, 30-day deployments, extensions and removals."""
