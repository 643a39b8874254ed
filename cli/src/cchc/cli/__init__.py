"""The ``cchc`` command line: the embedded default of CCHC Ledger on one machine."""
