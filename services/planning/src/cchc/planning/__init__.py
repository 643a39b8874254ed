"""CCHC Ledger planning service: annual CCHC plans, their tasks, progress and inspections."""
