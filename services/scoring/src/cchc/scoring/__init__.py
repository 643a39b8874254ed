"""CCHC Ledger scoring service."""
