// Per gateway of each linked domain: online or not, the licence `seq` it acknowledged, the expiry.

import { api } from "../../api/client";
import type { DomainLicences } from "../../api/types";
import { Empty, ErrorNote, Loading } from "../../components/Status";
import { useLoad, usePolling } from "../../components/useLoad";
import { formatInstant } from "../../money";
import { Explain } from "../../components/Explain";

function DomainGateways({ domainId }: { domainId: string }) {
  const licences = useLoad(() => api.get<DomainLicences>("licensing", `/domains/${domainId}/licences`), [domainId]);
  usePolling(licences.reload, 3000);
  const gateways = licences.data?.gateways ?? [];
  return (
    <div>
      {licences.state === "loading" && !licences.data && <Loading what="licences" />}
      {licences.state === "error" && <ErrorNote error={licences.error} onRetry={licences.reload} />}
      {licences.data && (
        <p>
          Licence bundle:{" "}
          <strong data-testid="bundle-expiry">
            {licences.data.bundle.expires_at
              ? `expires ${formatInstant(licences.data.bundle.expires_at)}`
              : "no expiry (nothing is rented or the rental is stopped)"}
          </strong>
          {" · "}
          {licences.data.bundle.devices.length} rented devices,{" "}
          {licences.data.bundle.licences.map((l) => `${l.count} ${l.type}`).join(", ") || "no licences"}
        </p>
      )}
      {licences.data && gateways.length === 0 && <Empty>No gateway is registered in this domain.</Empty>}
      {gateways.length > 0 && (
        <table>
          <caption>Gateways of domain {domainId.slice(0, 8)}</caption>
          <thead>
            <tr>
              <th scope="col">Gateway</th>
              <th scope="col">Connection</th>
              <th scope="col">Current seq</th>
              <th scope="col">Acknowledged seq</th>
            </tr>
          </thead>
          <tbody>
            {gateways.map((gateway) => (
              <tr key={gateway.hwid} data-testid={`gateway-${gateway.hwid}`}>
                <td>
                  <code>{gateway.hwid}</code>
                </td>
                <td>
                  <span className={gateway.online ? "dot online" : "dot offline"} aria-hidden="true" />
                  {gateway.online ? "Online" : "Offline"}
                </td>
                <td>{gateway.seq}</td>
                <td data-testid="acknowledged-seq">{gateway.acknowledged_seq}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function LicencesTab({ domainIds }: { domainIds: string[] }) {
  return (
    <section aria-labelledby="licences-title">
      <h2 id="licences-title">Licences</h2>
      <Explain>The signed bundle your gateways enforce, and whether each holds the current one.</Explain>
      {domainIds.length === 0 && <Empty>Link a domain to the contract to see its gateways' licences.</Empty>}
      {domainIds.map((id) => (
        <DomainGateways key={id} domainId={id} />
      ))}
    </section>
  );
}
