"""KPI definitions, readings and variance snapshots (issue #4)."""
