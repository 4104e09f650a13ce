-- Migration 0004: a card hold is captured or voided, never both (issue 9, defect 8).
--
-- `captured_at` marks a hold whose capture (the debit naming it) has not failed. A trigger
-- on transactions keeps it, so no code path can forget it; captures and voids decide from
-- the hold's locked row, and a CHECK refuses a hold both captured and voided whatever the
-- application does.

ALTER TABLE card_holds ADD COLUMN IF NOT EXISTS captured_at timestamptz;

-- Holds captured before now. A hold that raced into both states (the defect this fixes)
-- was captured: its debit moved the money, so the void it was also given took no effect
-- and is cleared (its `hold.voided` event stays in the event history).
UPDATE card_holds h SET captured_at = t.created_at, voided_at = NULL
FROM transactions t
WHERE t.card_hold_id = h.id AND t.status <> 'failed';

ALTER TABLE card_holds ADD CONSTRAINT card_holds_captured_or_voided
    CHECK (captured_at IS NULL OR voided_at IS NULL);

CREATE OR REPLACE FUNCTION card_holds_mark_captured() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE card_holds
    SET captured_at = CASE WHEN NEW.status = 'failed' THEN NULL
                           ELSE coalesce(captured_at, now()) END
    WHERE id = NEW.card_hold_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER card_holds_mark_captured
    AFTER INSERT OR UPDATE OF status ON transactions
    FOR EACH ROW WHEN (NEW.card_hold_id IS NOT NULL)
    EXECUTE FUNCTION card_holds_mark_captured();
