-- name: create_table
-- The record of applied migrations (see ledger/db.py).
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY CHECK (version >= 1),
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: lock
-- Migrating processes take turns (transaction-scoped advisory lock).
SELECT pg_advisory_xact_lock($1)

-- name: is_applied
-- Whether migration $1 has run.
SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)

-- name: record
-- Migration $1 named $2 has run.
INSERT INTO schema_migrations (version, name) VALUES ($1, $2)

-- name: version
-- The newest migration applied (0: none).
SELECT coalesce(max(version), 0) FROM schema_migrations

-- name: ping
-- The health check: PostgreSQL answers.
SELECT 1
