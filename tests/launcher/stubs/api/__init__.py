"""Stand-in for the real `api` package (launcher tests only)."""
