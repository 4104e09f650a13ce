"""Stand-in for the real `workers` package (launcher tests only)."""
