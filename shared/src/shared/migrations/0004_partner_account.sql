-- Partners are scoped (issue 16): a partner sees and acts only on the accounts it opened or that an operator
-- assigned to it. Every service keeps the same read model in its own schema (fed by AccountOpened and
-- AccountAssigned; the wallet writes it in the transactions that open and assign), checked by shared.partner_scope.
CREATE TABLE partner_account (
    account_id uuid NOT NULL,
    partner text NOT NULL,
    PRIMARY KEY (account_id, partner)
);

CREATE INDEX partner_account_partner ON partner_account (partner, account_id);
