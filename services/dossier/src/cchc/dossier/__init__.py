"""The dossier service: procedures catalogue, dossiers and their clock, statistics."""
