-- 0002's balance check named NEW.entry_seq inside a CASE that plpgsql plans for ledger_entry rows too,
-- where that field does not exist. Pick the entry in separate statements instead.
CREATE OR REPLACE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target bigint;
    entry_amount bigint;
    total bigint;
    wallet bigint;
BEGIN
    IF TG_TABLE_NAME = 'ledger_entry' THEN
        target := NEW.seq;
    ELSE
        target := NEW.entry_seq;
    END IF;
    SELECT amount INTO entry_amount FROM ledger_entry WHERE seq = target;
    SELECT coalesce(sum(amount), 0), coalesce(sum(amount) FILTER (WHERE book = 'customer_wallet'), 0)
      INTO total, wallet FROM ledger_line WHERE entry_seq = target;
    IF total <> 0 OR wallet <> entry_amount THEN
        RAISE EXCEPTION 'ledger entry % does not balance (lines sum to %, wallet line % vs amount %)',
            target, total, wallet, entry_amount USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
