"""The domain shared by the API and the workers: money, ids, status machines, the
double-entry ledger, events and the outbox, and all their SQL (one file per aggregate
under `ledger/sql/`). Nothing here knows about HTTP requests or arq workers."""
