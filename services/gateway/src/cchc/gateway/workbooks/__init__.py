"""The report forms as Excel workbooks: pure functions from the JSON answers to .xlsx bytes."""
