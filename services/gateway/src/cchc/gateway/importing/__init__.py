"""Importing what agencies already hold: a procedure catalogue (the national procedure
database's export) and dossiers (a one-stop-shop system's export), from CSV or XLSX.

``sheets`` reads a file into numbered rows; ``procedure_rows`` and ``dossier_rows`` validate
every row into the commands the API takes (nothing is sent while any row is refused);
``runner`` sends them with derived idempotency keys, so running the same file again writes
nothing twice. Used by ``POST /api/v1/imports/{kind}`` and by ``cchc import``.
"""
