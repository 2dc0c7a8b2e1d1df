// Tab Software: licences (UC, video, fax, softphone...) rented per domain from the same credit, with a forecast
// of the run-out before the change is confirmed.

import { useState } from "react";

import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { Empty, ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { Explain } from "../../components/Explain";
import { formatIsc, toMicro } from "../../money";
import { ForecastPanel } from "./ForecastPanel";

interface SoftwareTariff {
  type: string;
  rate_per_day: string;
}

interface SoftwareRental {
  id: string;
  domain_id: string;
  type: string;
  count: number;
  rate_per_day: string;
  burn_rate_per_day: string;
  status: "active" | "ended";
}

export function SoftwareTab(props: { contractId: string; domainId: string | null; onChanged: () => void }) {
  const tariffs = useLoad(() => api.get<Page<SoftwareTariff>>("contracts", "/software-tariffs"), []);
  const rentals = useLoad(
    () => api.get<Page<SoftwareRental>>("contracts", `/contracts/${props.contractId}/software-rentals?active=true`),
    [props.contractId],
  );
  const [type, setType] = useState("");
  const [count, setCount] = useState(1);
  const held = (rentals.data?.items ?? []).find((r) => r.domain_id === props.domainId && r.type === type);
  const plan =
    props.domainId && type && count !== (held?.count ?? 0)
      ? { software: [{ domain_id: props.domainId, type, count }] }
      : {};
  const apply = useAction(async () => {
    if (!props.domainId || !type) return null;
    const base = `/contracts/${props.contractId}/software-rentals`;
    if (held && count === 0) return api.post<SoftwareRental>("contracts", `${base}/${held.id}/ending`, {});
    if (held) return api.post<SoftwareRental>("contracts", `${base}/${held.id}/count-change`, { count });
    return api.post<SoftwareRental>("contracts", base, { domain_id: props.domainId, type, count });
  });
  const items = rentals.data?.items ?? [];
  return (
    <section aria-labelledby="software-title">
      <h2 id="software-title">Software</h2>
      <Explain>Licences for your domain, paid from the same credit as the hardware, per licence and day.</Explain>
      {rentals.state === "loading" && !rentals.data && <Loading what="software rentals" />}
      {rentals.state === "error" && <ErrorNote error={rentals.error} onRetry={rentals.reload} />}
      {rentals.state === "ready" && items.length === 0 && <Empty>No software licences rented yet.</Empty>}
      {items.length > 0 && (
        <table data-testid="software-rentals">
          <caption className="visually-hidden">Rented software licences</caption>
          <thead>
            <tr>
              <th scope="col">Licence</th>
              <th scope="col">Count</th>
              <th scope="col">Per licence</th>
              <th scope="col">Per day</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id}>
                <td>{r.type}</td>
                <td>{r.count}</td>
                <td>{formatIsc(toMicro(r.rate_per_day))} iSC</td>
                <td>{formatIsc(toMicro(r.burn_rate_per_day))} iSC</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!props.domainId && <p className="status empty">Choose a linked domain above to rent licences for it.</p>}
      {props.domainId && (
        <form
          className="row"
          onSubmit={async (event) => {
            event.preventDefault();
            if (await apply.run()) {
              rentals.reload();
              props.onChanged();
            }
          }}
        >
          <label>
            Licence{" "}
            <select value={type} onChange={(e) => setType(e.target.value)} aria-label="Licence type">
              <option value="">choose…</option>
              {(tariffs.data?.items ?? []).map((t) => (
                <option key={t.type} value={t.type}>
                  {t.type} ({formatIsc(toMicro(t.rate_per_day))} iSC a day)
                </option>
              ))}
            </select>
          </label>
          <label>
            How many{" "}
            <input
              type="number"
              min={0}
              max={100000}
              value={count}
              aria-label="Licence count"
              onChange={(e) => setCount(Math.max(0, Math.floor(Number(e.target.value) || 0)))}
            />
          </label>
          <button type="submit" disabled={apply.busy || !type || (!held && count === 0)}>
            {held ? (count === 0 ? "End this rental" : "Change the count") : "Rent"}
          </button>
        </form>
      )}
      <ForecastPanel contractId={props.contractId} plan={plan} />
      {apply.error && <ErrorNote error={apply.error} />}
      {apply.result && (
        <Success>
          {apply.result.status === "ended"
            ? `${apply.result.type} licences ended.`
            : `${apply.result.count} ${apply.result.type} licence(s) rented.`}
        </Success>
      )}
    </section>
  );
}
