// Access Rights: link the chosen domain to the rental contract, and accept a contract still in draft.

import { useState } from "react";

import { api } from "../../api/client";
import type { Contract } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { Explain } from "../../components/Explain";

const STATUS_TEXT: Record<string, string> = {
  draft: "Draft: read it and accept it to go on.",
  pending_approval: "Accepted by you; waiting for the vendor's approval.",
  active: "Active: devices can be rented.",
  suspended: "Suspended while the balance is empty.",
  terminated: "Terminated.",
};

export function AccessRights(props: { contract: Contract; domainId: string | null; onChanged: () => void }) {
  const { contract, domainId } = props;
  const [confirming, setConfirming] = useState(false);
  const link = useAction((id: string) => api.post<Contract>("contracts", `/contracts/${contract.id}/domains`, { domain_id: id }));
  const accept = useAction(() => api.post<Contract>("contracts", `/contracts/${contract.id}/acceptance`, {}));
  const linked = domainId !== null && contract.domain_ids.includes(domainId);
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access rights</h2>
      <Explain>Linking your domain to the contract lets its phones be rented under it.</Explain>
      <p>
        Contract <code>{contract.id.slice(0, 8)}</code>: <strong data-testid="contract-status">{STATUS_TEXT[contract.status] ?? contract.status}</strong>
      </p>
      {contract.status === "draft" && (
        <button type="button" onClick={() => setConfirming(true)}>
          Accept contract
        </button>
      )}
      {confirming && (
        <ConfirmDialog
          title="Accept this rental contract?"
          confirmLabel="Accept"
          busy={accept.busy}
          onCancel={() => setConfirming(false)}
          onConfirm={async () => {
            if (await accept.run()) props.onChanged();
            setConfirming(false);
          }}
        >
          <p>Once accepted, the vendor approves it and you can rent devices, paid from your iSC balance.</p>
        </ConfirmDialog>
      )}
      {accept.error && <ErrorNote error={accept.error} />}
      {domainId === null ? (
        <p>Choose a domain above to link it to this contract.</p>
      ) : linked ? (
        <Success>This domain is linked to the contract.</Success>
      ) : (
        <button
          type="button"
          disabled={link.busy}
          onClick={async () => {
            if (await link.run(domainId)) props.onChanged();
          }}
        >
          {link.busy ? "Linking…" : "Link this domain to the contract"}
        </button>
      )}
      {link.error && <ErrorNote error={link.error} />}
    </section>
  );
}
