"""The operator dashboard (docstring: see below)."""
