"""Portfolios, programs, objectives, initiatives, milestones and value lines (issue #3)."""
