"""Shared runtime of the CCHC Ledger services: event store, projections, embedded nats-server."""
