"""The gateway: CCHC Ledger's only public HTTP surface (REST API, auth, idempotency)."""
