"""Reporting reads other apps' data through selectors; it owns no tables yet (issue #5)."""
