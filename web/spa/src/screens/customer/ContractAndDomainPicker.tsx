// Which contract and which PBX domain the customer works on. Lists what the services offer for the
// account; where a service cannot list them, the customer can open one by its id.

import { useEffect, useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type { Contract, Domain, Page } from "../../api/types";
import { ErrorNote, Loading } from "../../components/Status";
import { useLoad } from "../../components/useLoad";

function OpenById(props: { label: string; id: string; onOpen: (id: string) => void }) {
  const [value, setValue] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    if (value.trim()) props.onOpen(value.trim());
  }
  return (
    <form onSubmit={submit} className="inline">
      <label htmlFor={props.id}>{props.label}</label>
      <input id={props.id} value={value} onChange={(e) => setValue(e.target.value)} pattern="[0-9a-fA-F-]{36}" />
      <button type="submit" className="secondary">
        Open
      </button>
    </form>
  );
}

export function ContractPicker(props: { accountId: string; selected: string | null; onSelect: (id: string) => void }) {
  const contracts = useLoad(
    () => api.get<Page<Contract>>("contracts", `/contracts?account_id=${props.accountId}`),
    [props.accountId],
  );
  const items = contracts.data?.items ?? [];
  const only = items.length === 1 ? items[0].id : null;
  useEffect(() => {
    // One contract is the usual case: open it without asking.
    if (only && !props.selected) props.onSelect(only);
  }, [only, props]);
  return (
    <div className="picker">
      {contracts.state === "loading" && !contracts.data && <Loading what="your contracts" />}
      {items.length > 0 && (
        <>
          <label htmlFor="contract-select">Rental contract</label>
          <select id="contract-select" value={props.selected ?? ""} onChange={(e) => props.onSelect(e.target.value)}>
            <option value="" disabled>
              Choose a contract
            </option>
            {items.map((c) => (
              <option key={c.id} value={c.id}>
                Contract {c.id.slice(0, 8)} ({c.status.replace("_", " ")})
              </option>
            ))}
          </select>
        </>
      )}
      {contracts.state === "error" && <ErrorNote error={contracts.error} onRetry={contracts.reload} />}
      {contracts.state === "ready" && items.length === 0 && (
        <p className="status empty">No rental contract yet: your partner opens one for you.</p>
      )}
      {contracts.state !== "loading" && items.length === 0 && (
        <OpenById label="Contract id" id="contract-id" onOpen={props.onSelect} />
      )}
    </div>
  );
}

export function DomainPicker(props: {
  accountId: string;
  linked: string[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const domains = useLoad(
    () =>
      api.get<Page<Domain>>("provisioning", `/domains?account_id=${props.accountId}`).catch(async () => {
        // No listing: the domains linked to the contract are the ones we know.
        const linked = await Promise.all(props.linked.map((id) => api.get<Domain>("provisioning", `/domains/${id}`)));
        return { items: linked, next_cursor: null };
      }),
    [props.accountId, props.linked.join(",")],
  );
  const items = domains.data?.items ?? [];
  const only = items.length === 1 ? items[0].id : null;
  useEffect(() => {
    if (only && !props.selected) props.onSelect(only);
  }, [only, props]);
  return (
    <div className="picker">
      {domains.state === "loading" && !domains.data && <Loading what="your domains" />}
      {domains.state === "error" && <ErrorNote error={domains.error} onRetry={domains.reload} />}
      {items.length > 0 && (
        <>
          <label htmlFor="domain-select">PBX domain</label>
          <select id="domain-select" value={props.selected ?? ""} onChange={(e) => props.onSelect(e.target.value)}>
            <option value="" disabled>
              Choose a domain
            </option>
            {items.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </>
      )}
      {domains.state !== "loading" && items.length === 0 && (
        <OpenById label="Domain id" id="domain-id" onOpen={props.onSelect} />
      )}
    </div>
  );
}
