"""The pure scoring domain: frameworks, rules, assessments, rankings (no I/O, no clock)."""
