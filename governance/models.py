"""Gate definitions, submissions, approvals, stage events and escalations (issues #3, #4)."""
