// What only an operator does: approve contracts, set tariffs, read the mail sent; a partner's tools are here too.

import { useState } from "react";

import { api } from "../../api/client";
import type { Contract, Tariff } from "../../api/types";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import type { Page } from "../../api/types";
import { Explain } from "../../components/Explain";
import { CustomerList, PendingApprovals } from "./Customers";
import { OutgoingMail } from "./OutgoingMail";
import { IssueKeys, LookUpAccount, OpenAccount, OpenContract, CreateDomain } from "./PartnerTools";
import { TestClocks } from "./TestClocks";

function ApproveContract() {
  const [id, setId] = useState("");
  const approve = useAction((contractId: string) => api.post<Contract>("contracts", `/contracts/${contractId}/approval`, {}));
  return (
    <section className="card" aria-labelledby="approve-title">
      <h2 id="approve-title">Approve a contract by id</h2>
      <Explain>For a contract not in the list: approve it by its id.</Explain>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          approve.run(id.trim());
        }}
      >
        <label htmlFor="approve-id">Contract id</label>
        <input id="approve-id" value={id} onChange={(e) => setId(e.target.value)} required />
        <button type="submit" disabled={approve.busy}>
          Approve
        </button>
      </form>
      {approve.error && <ErrorNote error={approve.error} />}
      {approve.result && <Success>Contract approved: it is now {approve.result.status.replace("_", " ")}.</Success>}
    </section>
  );
}

function SetTariff({ onSaved }: { onSaved: () => void }) {
  const [product, setProduct] = useState("");
  const [rate, setRate] = useState("2");
  const [licenceType, setLicenceType] = useState("PORT");
  const [licenceCount, setLicenceCount] = useState("1");
  const save = useAction(() =>
    api.put<Tariff>("contracts", `/tariffs/${encodeURIComponent(product.trim())}`, {
      rate_per_day: rate,
      licences: licenceType.trim() ? [{ type: licenceType.trim(), count: Number(licenceCount) }] : [],
    }),
  );
  return (
    <section className="card" aria-labelledby="tariff-title">
      <h2 id="tariff-title">Set a tariff</h2>
      <Explain>What a device model costs per day and which licences it brings; a model without one cannot be rented.</Explain>
      <form
        className="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await save.run()) onSaved();
        }}
      >
        <label htmlFor="tariff-product">Device model</label>
        <input id="tariff-product" value={product} onChange={(e) => setProduct(e.target.value)} required placeholder="IP112" />
        <label htmlFor="tariff-rate">Rate (iSC per day)</label>
        <input id="tariff-rate" inputMode="decimal" value={rate} onChange={(e) => setRate(e.target.value)} required />
        <label htmlFor="tariff-licence">Included licence type (optional)</label>
        <input id="tariff-licence" value={licenceType} onChange={(e) => setLicenceType(e.target.value.toUpperCase())} />
        <label htmlFor="tariff-count">Licences included</label>
        <input id="tariff-count" type="number" min={1} value={licenceCount} onChange={(e) => setLicenceCount(e.target.value)} />
        <button type="submit" disabled={save.busy}>
          Save tariff
        </button>
      </form>
      {save.error && <ErrorNote error={save.error} />}
      {save.result && (
        <Success>
          {save.result.product} now costs {save.result.rate_per_day} iSC per day.
        </Success>
      )}
    </section>
  );
}

function TariffList({ refresh }: { refresh: number }) {
  const tariffs = useLoad(() => api.get<Page<Tariff>>("contracts", "/tariffs"), [refresh]);
  const items = tariffs.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="tariffs-title">
      <h2 id="tariffs-title">Tariffs</h2>
      <Explain>The price list: every model that can be rented, per day.</Explain>
      {tariffs.state === "error" && <ErrorNote error={tariffs.error} onRetry={tariffs.reload} />}
      {tariffs.data && items.length === 0 && <p className="status empty">No tariff yet: set the first one.</p>}
      {items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">iSC per day</th>
              <th scope="col">Licences</th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.product} data-testid={`tariff-${t.product}`}>
                <td>{t.product}</td>
                <td>{t.rate_per_day}</td>
                <td>{t.licences.map((l) => `${l.count} ${l.type}`).join(", ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function OperatorScreen() {
  const [refresh, setRefresh] = useState(0);
  const changed = () => setRefresh((n) => n + 1);
  return (
    <div>
      <h1>Operator</h1>
      <div className="grid">
        <PendingApprovals onApproved={changed} />
        <TariffList refresh={refresh} />
        <SetTariff onSaved={changed} />
        <ApproveContract />
        <OpenAccount />
        <OpenContract />
        <CreateDomain />
        <IssueKeys />
        <LookUpAccount />
      </div>
      <CustomerList refresh={refresh} />
      <TestClocks />
      <OutgoingMail />
    </div>
  );
}
