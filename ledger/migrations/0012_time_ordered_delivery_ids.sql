-- Migration 0012: delivery ids that grow with time (issue 11).
--
-- A delivery's id is derived from its event and callback, so that recording the same event
-- twice makes no second delivery. It was `DL` + md5(event id || callback id): random
-- positions in callback_deliveries' primary key and in callback_attempts' index on it,
-- whose pages PostgreSQL then logged whole after every checkpoint (a sixth of the WAL of a
-- benchmark run). Event ids now begin with their minting time (ledger/ids.py); a
-- delivery id keeps those 12 digits first and 20 of the hash after them: still one id per
-- (event, callback), now in time order. Existing deliveries keep their ids.
CREATE OR REPLACE FUNCTION delivery_id(p_event_id text, p_callback_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'DL' || substr(p_event_id, 3, 12) || substr(md5(p_event_id || p_callback_id), 1, 20)
$$;
