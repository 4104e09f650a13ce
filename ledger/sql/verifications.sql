-- name: lock_bank_account
-- A bank account of marketplace $1, locked: its verifications and ACH debits queue here.
SELECT * FROM bank_accounts WHERE marketplace_id = $1 AND id = $2 FOR UPDATE

-- name: insert
-- A verification of bank account $3 with its two micro-deposits $4 and $5 (cents).
INSERT INTO bank_account_verifications (id, marketplace_id, bank_account_id, amount_1_cents,
                                        amount_2_cents, meta)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *

-- name: point_bank_account
-- The bank account's newest verification (links.bank_account_verification); verified
-- (can_debit) from now when $3 is true.
UPDATE bank_accounts
SET verification_id = $2,
    verified_at = CASE WHEN $3::boolean THEN coalesce(verified_at, now()) ELSE verified_at END,
    updated_at = now()
WHERE id = $1
RETURNING *

-- name: get
-- One verification, visible only to its marketplace.
SELECT * FROM bank_account_verifications WHERE marketplace_id = $1 AND id = $2

-- name: lock
-- One verification of marketplace $1, locked while an attempt is recorded.
SELECT * FROM bank_account_verifications WHERE marketplace_id = $1 AND id = $2 FOR UPDATE

-- name: record_attempt
-- One confirmation attempt: it succeeded ($2 true; the deposits evidently arrived), or it
-- used up one attempt (failed when it was the last). Only a pending verification moves.
UPDATE bank_account_verifications
SET attempts = attempts + 1,
    verification_status = CASE WHEN $2::boolean THEN 'succeeded'
                               WHEN attempts + 1 >= 3 THEN 'failed'
                               ELSE 'pending' END,
    deposit_status = CASE WHEN $2::boolean THEN 'succeeded' ELSE deposit_status END,
    updated_at = now()
WHERE id = $1 AND verification_status = 'pending'
RETURNING *

-- name: list
-- Verifications of bank account $2 of marketplace $1, oldest first; one page.
SELECT *, count(*) OVER () AS total FROM bank_account_verifications
WHERE marketplace_id = $1 AND bank_account_id = $2
ORDER BY created_at, id
LIMIT $3 OFFSET $4
