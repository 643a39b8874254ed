"""The pure domain of dossiers: no I/O, no clock, no environment; time comes in as data."""
