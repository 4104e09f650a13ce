"""The `ballast` command: settings, the launcher of the whole system, and embedded servers."""
