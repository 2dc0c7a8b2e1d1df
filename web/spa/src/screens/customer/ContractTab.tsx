// Tab Contract: the rented devices, replacing one by RMA (with a device picker) and deactivating one.

import { useState } from "react";

import { api } from "../../api/client";
import type { Contract, HardwareItem, Page, Rental } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Empty, ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { formatInstant, formatIsc, toMicro } from "../../money";
import { Explain } from "../../components/Explain";

type Pending = { kind: "deactivate"; rental: Rental } | { kind: "replace"; rental: Rental; deviceId: string };

export function ContractTab(props: { contract: Contract; onChanged: () => void }) {
  const contractId = props.contract.id;
  const rentals = useLoad(() => api.get<Page<Rental>>("contracts", `/contracts/${contractId}/rentals`), [contractId]);
  const hardware = useLoad(() => api.get<Page<HardwareItem>>("contracts", `/contracts/${contractId}/hardware`), [contractId]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [picking, setPicking] = useState<Rental | null>(null);
  const [choice, setChoice] = useState("");
  const deactivate = useAction((rental: Rental) =>
    api.post<Rental>("contracts", `/contracts/${contractId}/rentals/${rental.id}/deactivation`, {}),
  );
  const replace = useAction((rental: Rental, deviceId: string) =>
    api.post<Rental>("contracts", `/contracts/${contractId}/rentals/${rental.id}/replacement`, { device_id: deviceId }),
  );
  const spare = (hardware.data?.items ?? []).filter((item) => item.rentable && !item.rental_id);
  const items = rentals.data?.items ?? [];

  async function confirm() {
    if (!pending) return;
    const done =
      pending.kind === "deactivate" ? await deactivate.run(pending.rental) : await replace.run(pending.rental, pending.deviceId);
    setPending(null);
    setPicking(null);
    if (done) {
      rentals.reload();
      hardware.reload();
      props.onChanged();
    }
  }

  return (
    <section aria-labelledby="contract-title">
      <h2 id="contract-title">Contract</h2>
      <Explain>What you rent now and at which rate: replace a broken phone (RMA) or end a rental.</Explain>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd>{props.contract.status.replace("_", " ")}</dd>
        </div>
        <div>
          <dt>Burn rate</dt>
          <dd>{formatIsc(toMicro(props.contract.burn_rate_per_day))} iSC per day</dd>
        </div>
        <div>
          <dt>Linked domains</dt>
          <dd>{props.contract.domain_ids.length}</dd>
        </div>
      </dl>
      {rentals.state === "loading" && !rentals.data && <Loading what="rented devices" />}
      {rentals.state === "error" && <ErrorNote error={rentals.error} onRetry={rentals.reload} />}
      {rentals.state === "ready" && items.length === 0 && <Empty>No devices are rented yet. Activate one in the Hardware tab.</Empty>}
      {items.length > 0 && (
        <ul className="rows">
          {items.map((rental) => (
            <li key={rental.id} data-testid={`rental-${rental.hwid}`} className={`row ${rental.status}`}>
              <div>
                <strong>{rental.product}</strong> <code>{rental.hwid}</code>
                <br />
                <small>
                  {rental.status === "active"
                    ? `Rented since ${formatInstant(rental.activated_at)} · ${formatIsc(toMicro(rental.rate_per_day))} iSC/day`
                    : `${rental.status === "replaced" ? "Replaced" : "Deactivated"} ${formatInstant(rental.ended_at)}`}
                </small>
              </div>
              {rental.status === "active" && (
                <div className="row-actions">
                  <button type="button" className="secondary" onClick={() => (setPicking(rental), setChoice(""))}>
                    Replace (RMA)
                  </button>
                  <button type="button" className="danger" onClick={() => setPending({ kind: "deactivate", rental })}>
                    Deactivate
                  </button>
                </div>
              )}
              {picking?.id === rental.id && (
                <form
                  className="inline rma"
                  onSubmit={(e) => {
                    e.preventDefault();
                    if (choice) setPending({ kind: "replace", rental, deviceId: choice });
                  }}
                >
                  <label htmlFor={`rma-${rental.id}`}>Replacement device</label>
                  <select id={`rma-${rental.id}`} value={choice} onChange={(e) => setChoice(e.target.value)} required>
                    <option value="">Choose the new device</option>
                    {spare.map((item) => (
                      <option key={item.device_id} value={item.device_id}>
                        {item.product} {item.hwid}
                      </option>
                    ))}
                  </select>
                  {spare.length === 0 && <small>No spare device is provisioned yet.</small>}
                  <button type="submit" disabled={!choice}>
                    Replace
                  </button>
                  <button type="button" className="secondary" onClick={() => setPicking(null)}>
                    Cancel
                  </button>
                </form>
              )}
            </li>
          ))}
        </ul>
      )}
      {pending && (
        <ConfirmDialog
          title={pending.kind === "deactivate" ? "Deactivate this rental?" : "Replace this device?"}
          confirmLabel={pending.kind === "deactivate" ? "Deactivate" : "Replace"}
          busy={deactivate.busy || replace.busy}
          onCancel={() => setPending(null)}
          onConfirm={confirm}
        >
          {pending.kind === "deactivate" ? (
            <p>
              {pending.rental.product} <code>{pending.rental.hwid}</code> stops working once its licence is withdrawn,
              and stops costing credits at once.
            </p>
          ) : (
            <p>
              The rental of <code>{pending.rental.hwid}</code> moves to the new device without a gap and without being
              charged twice.
            </p>
          )}
        </ConfirmDialog>
      )}
      {deactivate.error && <ErrorNote error={deactivate.error} />}
      {replace.error && <ErrorNote error={replace.error} />}
      {deactivate.result && <Success>Rental of {deactivate.result.hwid} deactivated.</Success>}
      {replace.result && <Success>Device replaced; the rental carries on.</Success>}
    </section>
  );
}
