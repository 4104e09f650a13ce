"""How the dashboard writes amounts, times and rates (the templates' filters)."""

from __future__ import annotations

from datetime import UTC, datetime

MINUS = "\N{MINUS SIGN}"


def money(cents: int) -> str:
    """Integer cents as dollars: 123456 → `$1,234.56`; -1200 → a minus sign (U+2212, not a
    hyphen) and `$12.00`."""
    dollars, rest = divmod(abs(cents), 100)
    text = f"${dollars:,}.{rest:02d}"
    return MINUS + text if cents < 0 else text


def signed_money(cents: int) -> str:
    """Cents with their direction: `+$12.00` in, U+2212 and `$12.00` out, `$0.00`."""
    return "+" + money(cents) if cents > 0 else money(cents)


def when(moment: datetime | None) -> str:
    """A moment in UTC to the minute; `—` for none."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def percent(fraction: float | None) -> str:
    """0.025 → `2.5%`; `—` when there is nothing to divide."""
    if fraction is None:
        return "—"
    return f"{fraction * 100:.1f}%"
