-- Partners are scoped (issue 16): every account is seen by the partner that opened it (and the one assigned to it),
-- through the shared `partner_account` read model; accounts opened before this migration keep their opener.
INSERT INTO partner_account (account_id, partner)
SELECT id, opened_by FROM account WHERE opened_by IS NOT NULL
UNION
SELECT id, assigned_partner FROM account WHERE assigned_partner IS NOT NULL
ON CONFLICT DO NOTHING;
