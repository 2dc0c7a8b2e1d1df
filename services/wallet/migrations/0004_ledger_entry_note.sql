-- Adjustments say why they were made; the note is written with the entry and, like it, never changed.
ALTER TABLE ledger_entry ADD COLUMN note text CHECK (length(note) <= 500);
