"""The navigation: one entry per page, in the order the header shows them.

An entry's `section` is its page's module name (`dashboard/views/<section>.py`), the
prefix of its route names (`<section>.index`, `<section>.detail`, ...) and of its
templates' folder (`dashboard/templates/<section>/`). The header links each entry to its
`<section>.index` route and marks the entry whose section the current route is in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    section: str
    label: str

    @property
    def route_name(self) -> str:
        return f"{self.section}.index"


NAV: tuple[NavEntry, ...] = (
    NavEntry("overview", "Overview"),
    NavEntry("orders", "Orders"),
    NavEntry("customers", "Customers"),
    NavEntry("transactions", "Transactions"),
    NavEntry("events", "Events & callbacks"),
    NavEntry("rail", "Rail"),
    NavEntry("api_keys", "API keys"),
)


def section_of(route_name: str | None) -> str | None:
    """The section a route belongs to (`orders.detail` → `orders`)."""
    return None if route_name is None else route_name.split(".", 1)[0]
