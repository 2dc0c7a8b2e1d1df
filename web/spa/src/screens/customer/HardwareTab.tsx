// Tab Hardware: the provisioned devices of the linked domains, rentable or not, and activating a rental.

import { useState } from "react";

import { api } from "../../api/client";
import type { HardwareItem, Page, Rental } from "../../api/types";
import { Empty, ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { Explain } from "../../components/Explain";
import { ForecastPanel } from "./ForecastPanel";

export function HardwareTab(props: { contractId: string; domainId: string | null; onChanged: () => void }) {
  const hardware = useLoad(
    () => api.get<Page<HardwareItem>>("contracts", `/contracts/${props.contractId}/hardware`),
    [props.contractId],
  );
  const activate = useAction((deviceId: string) =>
    api.post<Rental>("contracts", `/contracts/${props.contractId}/rentals`, { device_id: deviceId }),
  );
  const code = useAction((domainId: string) =>
    api.post<{ code: string; expires_at: string }>("provisioning", `/domains/${domainId}/provisioning-codes`, {}),
  );
  const items = hardware.data?.items ?? [];
  // Devices ticked for the forecast: available ones would be activated, rented ones deactivated.
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const toggle = (deviceId: string) =>
    setPicked((old) => {
      const next = new Set(old);
      if (!next.delete(deviceId)) next.add(deviceId);
      return next;
    });
  const chosen = items.filter((item) => picked.has(item.device_id));
  const plan = {
    activate: chosen.filter((item) => item.rentable && !item.rental_id).map((item) => item.device_id),
    deactivate: chosen.filter((item) => item.rental_id).map((item) => item.rental_id as string),
  };
  return (
    <section aria-labelledby="hardware-title">
      <h2 id="hardware-title">Hardware</h2>
      <Explain>Your domains' enrolled devices: activate a rental to let a phone run.</Explain>
      {hardware.state === "loading" && !hardware.data && <Loading what="devices" />}
      {hardware.state === "error" && <ErrorNote error={hardware.error} onRetry={hardware.reload} />}
      {hardware.state === "ready" && items.length === 0 && (
        <Empty>
          No devices yet. Add phones to a linked domain by provisioning: get a provisioning code below and type it
          on the phone.
        </Empty>
      )}
      {items.length > 0 && (
        <table>
          <caption className="visually-hidden">Provisioned devices</caption>
          <thead>
            <tr>
              <th scope="col">What if</th>
              <th scope="col">Device</th>
              <th scope="col">Model</th>
              <th scope="col">Rental</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.device_id} data-testid={`hardware-${item.hwid}`}>
                <td>
                  {(item.rentable || item.rental_id) && (
                    <input
                      type="checkbox"
                      aria-label={`${item.rental_id ? "Forecast ending" : "Forecast renting"} ${item.hwid}`}
                      checked={picked.has(item.device_id)}
                      onChange={() => toggle(item.device_id)}
                    />
                  )}
                </td>
                <td>
                  <code>{item.hwid}</code>
                </td>
                <td>{item.product}</td>
                <td>{item.rental_id ? "Rented" : item.rentable ? "Available" : "Not rentable (no tariff)"}</td>
                <td>
                  {item.rentable && !item.rental_id && (
                    <button
                      type="button"
                      disabled={activate.busy}
                      aria-label={`Activate rental of ${item.product} ${item.hwid}`}
                      onClick={async () => {
                        if (await activate.run(item.device_id)) {
                          setPicked(new Set());
                          hardware.reload();
                          props.onChanged();
                        }
                      }}
                    >
                      Activate
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {items.length > 0 && <ForecastPanel contractId={props.contractId} plan={plan} />}
      {activate.error && <ErrorNote error={activate.error} />}
      {activate.result && <Success>Rental of {activate.result.hwid} activated.</Success>}
      {props.domainId && (
        <div className="subtle-box">
          <button
            type="button"
            className="secondary"
            disabled={code.busy}
            onClick={() => props.domainId && code.run(props.domainId)}
          >
            Get a provisioning code
          </button>
          {code.error && <ErrorNote error={code.error} />}
          {code.result && (
            <p role="status">
              Type <strong data-testid="provisioning-code">{code.result.code}</strong> on the phone (valid until{" "}
              {new Date(code.result.expires_at).toLocaleString()}).
            </p>
          )}
        </div>
      )}
    </section>
  );
}
