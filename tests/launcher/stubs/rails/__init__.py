"""Stand-in for the real `rails` package (launcher tests only)."""
