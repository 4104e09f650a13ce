"""What a run asks of the rail's control API (it needs the rail's control token, or a
rail started with --open-control): its clock and rules, recorded in the report so that a
reader can tell why end-to-end latencies step with the settlement windows; and, for a
scenario with late returns or notifications of change, the two rules that make the load's
own test accounts behave so."""

from __future__ import annotations

from typing import Any

import aiohttp

from ballast.load.config import ROUTING_NUMBER, LoadError

ACCOUNT_LATE_RETURN = "8800000006"
ACCOUNT_CORRECTED = "8800000008"
# Matched on the load's own account numbers only: other traffic on the rail is unaffected.
LOAD_RULES: list[dict[str, Any]] = [
    {
        "match": {"routing_number": ROUTING_NUMBER, "account_number": ACCOUNT_LATE_RETURN},
        "action": "return",
        "code": "R02",
        "late_return_after_banking_days": 1,
    },
    {
        "match": {"routing_number": ROUTING_NUMBER, "account_number": ACCOUNT_CORRECTED},
        "action": "correct",
        "code": "C01",
        "corrected_data": "8800000099",
    },
]
RULES_SHOWN_MAX = 40  # The report lists this many of the rail's rules (a rail takes 1000).
CONTROL_TIMEOUT_S = 10.0


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


async def _get(session: aiohttp.ClientSession, url: str, token: str | None) -> Any:
    timeout = aiohttp.ClientTimeout(total=CONTROL_TIMEOUT_S)
    async with session.get(url, headers=_headers(token), timeout=timeout) as response:
        if response.status != 200:
            raise LoadError(f"GET {url} answered {response.status}")
        return await response.json()


async def rail_facts(
    session: aiohttp.ClientSession, rail_url: str, token: str | None
) -> dict[str, Any]:
    """The rail's day length, clock mode and rules; `error` says why when unreadable."""
    try:
        clock = await _get(session, f"{rail_url}/clock", token)
        rules = await _get(session, f"{rail_url}/rules", token)
    except (LoadError, aiohttp.ClientError, TimeoutError) as error:
        hint = "" if token else " (set $BALLAST_RAIL_CONTROL_TOKEN or --rail-control-token)"
        return {"url": rail_url, "error": f"{error}{hint}"}
    return {
        "url": rail_url,
        "day_ms": clock["day_ms"],
        "clock_mode": "instant" if clock["day_ms"] == 0 and not clock["frozen"] else clock["mode"],
        "same_day_ach": clock["same_day_ach"],
        "rules_count": len(rules),
        "rules": [rule_line(rule) for rule in rules[:RULES_SHOWN_MAX]],
    }


def rule_line(rule: dict[str, Any]) -> str:
    match = " ".join(f"{key}={value}" for key, value in rule.get("match", {}).items())
    extra = " ".join(
        f"{key}={value}" for key, value in rule.items() if key not in ("match", "action")
    )
    return f"{match or 'anything'} → {rule['action']} {extra}".strip()


async def install_load_rules(
    session: aiohttp.ClientSession, rail_url: str, token: str | None
) -> None:
    """Put LOAD_RULES first in the rail's rules, in place of any earlier copy of them (the
    rail gives them back with its defaults filled in, so they are known by their match)."""
    ours = [rule["match"] for rule in LOAD_RULES]
    try:
        rules = await _get(session, f"{rail_url}/rules", token)
        others = [rule for rule in rules if rule.get("match") not in ours]
        timeout = aiohttp.ClientTimeout(total=CONTROL_TIMEOUT_S)
        async with session.put(
            f"{rail_url}/rules", json=LOAD_RULES + others, headers=_headers(token), timeout=timeout
        ) as response:
            if response.status != 200:
                raise LoadError(f"PUT {rail_url}/rules answered {response.status}")
    except (LoadError, aiohttp.ClientError, TimeoutError) as error:
        raise LoadError(
            f"late returns and corrections need the load's rules on the rail: {error}; give "
            "the rail's control token ($BALLAST_RAIL_CONTROL_TOKEN) or run it with --open-control"
        ) from None
