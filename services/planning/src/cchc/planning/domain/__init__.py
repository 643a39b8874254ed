"""The planning domain: pure decide/evolve functions, no I/O, clock or environment."""
