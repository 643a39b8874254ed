"""Alerts: each agency's dossiers due today, due on the next working day, and overdue.

The dossier service keeps them in a projection (``dossier-alerts-v1``); the gateway reads them
(``GET /api/v1/alerts``) and delivers each agency's digest through the configured channels:
the live event stream, email (SMTP) and a webhook, every working morning and when asked.
"""
