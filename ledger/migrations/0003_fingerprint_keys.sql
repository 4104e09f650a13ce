-- Migration 0003: card and bank-account fingerprints are keyed (issue 9, defect 4).
--
-- Fingerprints were an unsalted SHA-256 of the card number and expiry (of the account's
-- details for bank accounts), from which the number could be found by trying the
-- candidates left by the last four digits shown. They are now HMAC-SHA256, under the
-- installation's key (BALLAST_FINGERPRINT_KEY, never in the database), of that same
-- SHA-256. SQL cannot re-key the existing rows, not having the key: the API does it at
-- start-up (ledger/instruments.py, key_fingerprints). `fingerprint_keyed` says which rows
-- are done, so that each is re-keyed exactly once; new rows are inserted keyed. Rows that
-- exist now, or that a process still running older code inserts, default to not keyed.

ALTER TABLE cards ADD COLUMN IF NOT EXISTS fingerprint_keyed boolean NOT NULL DEFAULT false;
ALTER TABLE bank_accounts
    ADD COLUMN IF NOT EXISTS fingerprint_keyed boolean NOT NULL DEFAULT false;

-- Once every row is keyed, the start-up's search for unkeyed rows reads an empty index.
CREATE INDEX IF NOT EXISTS cards_fingerprint_unkeyed ON cards (id) WHERE NOT fingerprint_keyed;
CREATE INDEX IF NOT EXISTS bank_accounts_fingerprint_unkeyed
    ON bank_accounts (id) WHERE NOT fingerprint_keyed;
