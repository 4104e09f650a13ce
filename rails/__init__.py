"""rails: a fake ACH bank, run as its own aiohttp service ("another company").

Callers submit ACH entries (`POST /entries`, idempotent by the caller's id) and learn
their outcomes from signed notifications (Standard Webhooks) pushed to the entry's
`notify_url`, or by polling `GET /entries/{id}`. Outcomes follow ordered rules (match on
routing/account number, amount, kind, name; act: succeed, return with an R code, stay
pending, or correct with a C code; optionally delayed, late, or for a seeded share of
entries), timed on a simulated banking-day clock that skips weekends and Federal Reserve
holidays, settles in FedACH's same-day and next-day windows, and can run in real time,
accelerated, or frozen. The defaults give Balanced's test bank accounts their documented
behaviour. With a files directory, the rail writes the NACHA files it sends and receives
at every window cut-off (`GET /files`).

Modelled on Moov's ach-test-harness (rules) and Increase's sandbox (simulation
endpoints that force an outcome now). Control endpoints change rules and the clock live.
The package imports nothing from the rest of ballast; workers use `rails.client`.

Run it with `rails.app.run(RailConfig(secret="whsec_...", control_token="..."))`, or
`python -m rails` / `ballast rails` with BALLAST_RAIL_SECRET and BALLAST_RAIL_CONTROL_TOKEN
in the environment.
"""
