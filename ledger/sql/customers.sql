-- name: insert_customer
-- A customer of marketplace $2.
INSERT INTO customers (id, marketplace_id, name, business_name, email, phone, ssn_last4, ein,
                       dob_month, dob_year, address, merchant_status, meta)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *

-- name: get_customer
-- One customer, visible only to its marketplace, with its default instruments.
SELECT * FROM customers_shown WHERE marketplace_id = $1 AND id = $2

-- name: lock_customer
-- One customer, locked while its details or default instruments change.
SELECT * FROM customers WHERE marketplace_id = $1 AND id = $2 FOR UPDATE

-- name: update_customer
-- A customer's details, underwriting verdict and named default instruments, all at once
-- (the caller merged them with the current ones; a null meta keeps the current one).
UPDATE customers
SET name = $3, business_name = $4, email = $5, phone = $6, ssn_last4 = $7, ein = $8,
    dob_month = $9, dob_year = $10, address = $11, merchant_status = $12,
    meta = coalesce($13, meta),
    source_card_id = $14, source_bank_account_id = $15, destination_bank_account_id = $16,
    updated_at = now()
WHERE marketplace_id = $1 AND id = $2
RETURNING id

-- name: delete_customer
-- Unstore a customer (its row and history stay); returns its id, or nothing if unknown.
UPDATE customers SET deleted_at = coalesce(deleted_at, now()), updated_at = now()
WHERE marketplace_id = $1 AND id = $2
RETURNING id

-- name: update_card
-- Attach a card to customer $3 (or keep its customer when $3 is null) and update its meta
-- when $4 is not null.
UPDATE cards
SET customer_id = coalesce($3, customer_id), meta = coalesce($4, meta), updated_at = now()
WHERE marketplace_id = $1 AND id = $2
RETURNING *

-- name: unstore_card
-- Unstore a card: it stays readable but is never charged again, and stops being its
-- customer's named default source.
WITH unstored AS (
    UPDATE cards SET deleted_at = coalesce(deleted_at, now()), updated_at = now()
    WHERE marketplace_id = $1 AND id = $2
    RETURNING *
),
cleared AS (
    UPDATE customers SET source_card_id = NULL, updated_at = now()
    WHERE id = (SELECT customer_id FROM unstored) AND source_card_id = $2
)
SELECT * FROM unstored

-- name: unstore_bank_account
-- Unstore a bank account: it stays readable but is never debited or credited again, and
-- stops being its customer's named default source or destination.
WITH unstored AS (
    UPDATE bank_accounts SET deleted_at = coalesce(deleted_at, now()), updated_at = now()
    WHERE marketplace_id = $1 AND id = $2
    RETURNING *
),
cleared AS (
    UPDATE customers
    SET source_bank_account_id = nullif(source_bank_account_id, $2),
        destination_bank_account_id = nullif(destination_bank_account_id, $2),
        updated_at = now()
    WHERE id = (SELECT customer_id FROM unstored)
      AND $2 IN (source_bank_account_id, destination_bank_account_id)
)
SELECT * FROM unstored

-- name: insert_bank_account
-- A bank account, attached to customer $3 or to no one; its fingerprint $10 is keyed.
INSERT INTO bank_accounts (id, marketplace_id, customer_id, name, account_number,
                           routing_number, account_type, bank_name, address, fingerprint, meta,
                           fingerprint_keyed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true)
RETURNING *

-- name: get_bank_account
-- One bank account, visible only to its marketplace.
SELECT * FROM bank_accounts WHERE marketplace_id = $1 AND id = $2

-- name: update_bank_account
-- Attach a bank account to customer $3 (or keep its customer when $3 is null) and update
-- its meta when $4 is not null.
UPDATE bank_accounts
SET customer_id = coalesce($3, customer_id), meta = coalesce($4, meta), updated_at = now()
WHERE marketplace_id = $1 AND id = $2
RETURNING *

-- name: insert_card
-- A tokenized card: last four digits, keyed fingerprint and the processor's verdict only.
INSERT INTO cards (id, marketplace_id, customer_id, name, last4, number_length, brand,
                   expiration_month, expiration_year, has_cvv, card_type, processor_verdict,
                   fingerprint, address, meta, fingerprint_keyed, cvv_match, avs_postal_match,
                   avs_street_match)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, true, $16, $17, $18)
RETURNING *

-- name: get_card
-- One card, visible only to its marketplace.
SELECT * FROM cards WHERE marketplace_id = $1 AND id = $2

-- name: list_bank_accounts
-- Stored bank accounts of a marketplace (of customer $2 when set), oldest first.
SELECT *, count(*) OVER () AS total FROM bank_accounts
WHERE marketplace_id = $1 AND ($2::text IS NULL OR customer_id = $2) AND deleted_at IS NULL
ORDER BY created_at, id
LIMIT $3 OFFSET $4

-- name: list_cards
-- Stored cards of a marketplace (of customer $2 when set), oldest first.
SELECT *, count(*) OVER () AS total FROM cards
WHERE marketplace_id = $1 AND ($2::text IS NULL OR customer_id = $2) AND deleted_at IS NULL
ORDER BY created_at, id
LIMIT $3 OFFSET $4

-- name: list_customers
-- Stored customers of a marketplace, oldest first, with their default instruments ($2 is
-- unused: every list takes a scope).
SELECT *, count(*) OVER () AS total FROM customers_shown
WHERE marketplace_id = $1 AND $2::text IS NULL AND deleted_at IS NULL
ORDER BY created_at, id
LIMIT $3 OFFSET $4

-- name: list_order_buyers
-- The customers whose debits (not failed) paid into order $2, oldest first.
SELECT *, count(*) OVER () AS total FROM customers_shown
WHERE marketplace_id = $1
  AND id IN (SELECT customer_id FROM transactions
             WHERE order_id = $2 AND kind = 'debit' AND status <> 'failed')
ORDER BY created_at, id
LIMIT $3 OFFSET $4

-- name: record_notice_of_change
-- The receiving bank's notice of change (NACHA C-code and corrected data), kept in the
-- bank account's meta where Balanced clients can see it, and applied to the account: an
-- originator must use the corrected details for every later entry (NACHA rules), so the
-- submissions read them from these columns. The corrected-data field (29 characters) is
-- laid out by code: C01 the account number; C02 the routing number; C03 the routing
-- number, blanks, the account number; C05 the transaction code; C06 the account number,
-- blanks, the transaction code; C07 routing number, account number, transaction code.
-- A transaction code's first digit is the account type (2x checking, 3x savings). A part
-- that does not parse as what our columns hold changes nothing (it stays in the meta for
-- an operator); codes that correct nothing we send (C04 name, C09 id, C13) only go there.
WITH corrected AS (
    SELECT
        CASE $2::text
            WHEN 'C02' THEN (regexp_match($3::text, '^\s*([0-9]{9})\s*$'))[1]
            WHEN 'C03' THEN (regexp_match($3::text, '^\s*([0-9]{9})\s*[0-9]{4,17}\s*$'))[1]
            WHEN 'C07' THEN
                (regexp_match($3::text, '^\s*([0-9]{9})\s*[0-9]{4,17}\s*[0-9]{2}\s*$'))[1]
        END AS routing_number,
        CASE $2::text
            WHEN 'C01' THEN (regexp_match($3::text, '^\s*([0-9]{4,17})\s*$'))[1]
            WHEN 'C03' THEN (regexp_match($3::text, '^\s*[0-9]{9}\s*([0-9]{4,17})\s*$'))[1]
            WHEN 'C06' THEN (regexp_match($3::text, '^\s*([0-9]{4,17})\s*[0-9]{2}\s*$'))[1]
            WHEN 'C07' THEN
                (regexp_match($3::text, '^\s*[0-9]{9}\s*([0-9]{4,17})\s*[0-9]{2}\s*$'))[1]
        END AS account_number,
        CASE $2::text
            WHEN 'C05' THEN (regexp_match($3::text, '^\s*([0-9]{2})\s*$'))[1]
            WHEN 'C06' THEN (regexp_match($3::text, '^\s*[0-9]{4,17}\s*([0-9]{2})\s*$'))[1]
            WHEN 'C07' THEN
                (regexp_match($3::text, '^\s*[0-9]{9}\s*[0-9]{4,17}\s*([0-9]{2})\s*$'))[1]
        END AS transaction_code
)
UPDATE bank_accounts b
SET meta = b.meta || jsonb_build_object('ach_noc_code', $2::text,
                                        'ach_noc_corrected_data', $3::text),
    routing_number = coalesce(c.routing_number, b.routing_number),
    account_number = coalesce(c.account_number, b.account_number),
    account_type = CASE left(c.transaction_code, 1)
                       WHEN '2' THEN 'checking' WHEN '3' THEN 'savings' ELSE b.account_type
                   END,
    updated_at = now()
FROM corrected c
WHERE b.id = $1
RETURNING b.*

-- name: count_unkeyed_cards
-- Cards whose fingerprint predates the installation's key (see key_fingerprints).
SELECT count(*) FROM cards WHERE NOT fingerprint_keyed

-- name: lock_unkeyed_cards
-- Up to $1 of them, locked; those another process is keying are skipped.
SELECT id, fingerprint FROM cards WHERE NOT fingerprint_keyed
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED

-- name: key_card_fingerprints
-- Cards $1 (locked) get keyed fingerprints $2, once; returns how many changed.
WITH keyed AS (
    UPDATE cards c SET fingerprint = u.fingerprint, fingerprint_keyed = true
    FROM unnest($1::text[], $2::text[]) AS u (id, fingerprint)
    WHERE c.id = u.id AND NOT c.fingerprint_keyed
    RETURNING c.id
)
SELECT count(*) FROM keyed

-- name: count_unkeyed_bank_accounts
-- Bank accounts whose fingerprint predates the installation's key.
SELECT count(*) FROM bank_accounts WHERE NOT fingerprint_keyed

-- name: lock_unkeyed_bank_accounts
-- Up to $1 of them with the details their fingerprint is made of, locked.
SELECT id, routing_number, account_number, name, account_type FROM bank_accounts
WHERE NOT fingerprint_keyed
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED

-- name: key_bank_account_fingerprints
-- Bank accounts $1 (locked) get keyed fingerprints $2, once; returns how many changed.
WITH keyed AS (
    UPDATE bank_accounts b SET fingerprint = u.fingerprint, fingerprint_keyed = true
    FROM unnest($1::text[], $2::text[]) AS u (id, fingerprint)
    WHERE b.id = u.id AND NOT b.fingerprint_keyed
    RETURNING b.id
)
SELECT count(*) FROM keyed
