// What a partner does: open accounts (live, or on a test clock of its own), domains and contracts, issue
// activation keys (codes shown once), rehearse on test clocks.

import { useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type { Account, Contract, Domain, KeyBatch } from "../../api/types";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { formatIsc, toMicro } from "../../money";
import { Explain } from "../../components/Explain";
import { CustomerList, rememberOpened } from "./Customers";
import { TestClocks } from "./TestClocks";

function csvOf(batch: KeyBatch, amount: string): string {
  const lines = ["batch_id,key_id,code,amount_isc", ...batch.keys.map((k) => `${batch.batch_id},${k.id},${k.code},${amount}`)];
  return lines.join("\r\n") + "\r\n";
}

export function OpenAccount({ onChanged }: { onChanged?: () => void }) {
  const [name, setName] = useState("");
  const [clockId, setClockId] = useState("");
  const open = useAction((accountName: string) =>
    api.post<Account>("wallet", "/accounts", {
      name: accountName,
      ...(clockId.trim() ? { test_clock_id: clockId.trim() } : {}),
    }),
  );
  const contract = useAction((accountId: string) => api.post<Contract>("contracts", "/contracts", { account_id: accountId }));
  async function submit(event: FormEvent) {
    event.preventDefault();
    contract.clear();
    const opened = await open.run(name.trim());
    if (opened) {
      setName("");
      rememberOpened(opened.id);
      onChanged?.();
    }
  }
  return (
    <section className="card" aria-labelledby="open-account-title">
      <h2 id="open-account-title">Open a customer account</h2>
      <Explain>The account holds the customer's prepaid credits; the customer signs in to it.</Explain>
      <form onSubmit={submit} className="inline">
        <label htmlFor="account-name">Customer name</label>
        <input id="account-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        <label htmlFor="account-test-clock">Test clock id (optional: a rehearsal account)</label>
        <input id="account-test-clock" value={clockId} onChange={(e) => setClockId(e.target.value)} />
        <button type="submit" disabled={open.busy}>
          Open account
        </button>
      </form>
      {open.error && <ErrorNote error={open.error} />}
      {open.result && (
        <Success>
          Account for {open.result.name} opened. Account id: <code data-testid="new-account-id">{open.result.id}</code>
        </Success>
      )}
      {open.result && !contract.result && (
        <button
          type="button"
          disabled={contract.busy}
          onClick={async () => {
            if (open.result && (await contract.run(open.result.id))) onChanged?.();
          }}
        >
          Open a rental contract for {open.result.name}
        </button>
      )}
      {contract.error && <ErrorNote error={contract.error} />}
      {contract.result && (
        <Success>
          Contract opened in draft; {open.result?.name} accepts it, the vendor approves it. Contract id:{" "}
          <code data-testid="new-contract-id">{contract.result.id}</code>
        </Success>
      )}
    </section>
  );
}

export function CreateDomain() {
  const [accountId, setAccountId] = useState("");
  const [name, setName] = useState("");
  const create = useAction(() => api.post<Domain>("provisioning", "/domains", { account_id: accountId.trim(), name: name.trim() }));
  return (
    <section className="card" aria-labelledby="domain-title">
      <h2 id="domain-title">Register a PBX domain</h2>
      <Explain>For a customer who wants it done for them: the domain where their gateways and phones live.</Explain>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          create.run();
        }}
      >
        <label htmlFor="domain-account">Account id</label>
        <input id="domain-account" value={accountId} onChange={(e) => setAccountId(e.target.value)} required />
        <label htmlFor="domain-name">Domain name</label>
        <input id="domain-name" value={name} onChange={(e) => setName(e.target.value)} required placeholder="pbx.example.com" />
        <button type="submit" disabled={create.busy}>
          Register domain
        </button>
      </form>
      {create.error && <ErrorNote error={create.error} />}
      {create.result && (
        <Success>
          Domain {create.result.name} registered. Domain id: <code data-testid="new-domain-id">{create.result.id}</code>
        </Success>
      )}
    </section>
  );
}

export function OpenContract({ onChanged }: { onChanged?: () => void }) {
  const [accountId, setAccountId] = useState("");
  const open = useAction((id: string) => api.post<Contract>("contracts", "/contracts", { account_id: id }));
  return (
    <section className="card" aria-labelledby="contract-open-title">
      <h2 id="contract-open-title">Open a rental contract</h2>
      <Explain>The contract lets the customer rent devices; it is active once accepted and approved.</Explain>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await open.run(accountId.trim())) onChanged?.();
        }}
        className="inline"
      >
        <label htmlFor="contract-account">Account id</label>
        <input id="contract-account" value={accountId} onChange={(e) => setAccountId(e.target.value)} required />
        <button type="submit" disabled={open.busy}>
          Open contract
        </button>
      </form>
      {open.error && <ErrorNote error={open.error} />}
      {open.result && (
        <Success>
          Contract opened in draft; the customer accepts it. Contract id:{" "}
          <code data-testid="new-contract-id">{open.result.id}</code>
        </Success>
      )}
    </section>
  );
}

export function IssueKeys() {
  const [amount, setAmount] = useState("100");
  const [count, setCount] = useState("5");
  const issue = useAction(() => api.post<KeyBatch>("wallet", "/activation-keys", { amount, count: Number(count) }));
  const [issuedAmount, setIssuedAmount] = useState(amount);
  function download(batch: KeyBatch) {
    const url = URL.createObjectURL(new Blob([csvOf(batch, issuedAmount)], { type: "text/csv" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `activation-keys-${batch.batch_id}.csv`;
    link.click();
    URL.revokeObjectURL(url);
  }
  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">Issue activation keys</h2>
      <Explain>Sell credits: each key is a one-time code worth its iSC, redeemed by the customer.</Explain>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          setIssuedAmount(amount);
          issue.run();
        }}
      >
        <label htmlFor="key-amount">Credits per key (iSC)</label>
        <input id="key-amount" inputMode="decimal" pattern="\d+(\.\d{1,6})?" value={amount} onChange={(e) => setAmount(e.target.value)} required />
        <label htmlFor="key-count">Number of keys</label>
        <input id="key-count" type="number" min={1} max={1000} value={count} onChange={(e) => setCount(e.target.value)} required />
        <button type="submit" disabled={issue.busy}>
          {issue.busy ? "Issuing…" : "Issue keys"}
        </button>
      </form>
      {issue.error && <ErrorNote error={issue.error} />}
      {issue.result && (
        <div className="keys" data-testid="issued-keys">
          <p className="warning weeks" role="alert">
            These codes are shown only once. Download or copy them now.
          </p>
          <button type="button" onClick={() => issue.result && download(issue.result)}>
            Download as CSV
          </button>
          <div className="table-scroll">
            <table>
              <caption>
                {issue.result.keys.length} keys worth {formatIsc(toMicro(issuedAmount))} iSC each
              </caption>
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col" className="wide-only">
                    Key id
                  </th>
                </tr>
              </thead>
              <tbody>
                {issue.result.keys.map((key) => (
                  <tr key={key.id}>
                    <td>
                      <code className="key-code">{key.code}</code>
                    </td>
                    <td className="wide-only">
                      <small>{key.id}</small>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}

export function LookUpAccount() {
  const [id, setId] = useState("");
  const look = useAction((accountId: string) => api.get<Account>("wallet", `/accounts/${accountId}`));
  return (
    <section className="card" aria-labelledby="lookup-title">
      <h2 id="lookup-title">Look up an account</h2>
      <Explain>One account's balance and state, by its id.</Explain>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          look.run(id.trim());
        }}
      >
        <label htmlFor="lookup-id">Account id</label>
        <input id="lookup-id" value={id} onChange={(e) => setId(e.target.value)} required />
        <button type="submit" className="secondary" disabled={look.busy}>
          Look up
        </button>
      </form>
      {look.error && <ErrorNote error={look.error} />}
      {look.result && (
        <dl className="facts" data-testid="looked-up-account">
          <div>
            <dt>Name</dt>
            <dd>{look.result.name}</dd>
          </div>
          <div>
            <dt>Balance</dt>
            <dd>{look.result.balance !== undefined ? `${formatIsc(toMicro(look.result.balance))} iSC` : "—"}</dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>{look.result.status ?? "—"}</dd>
          </div>
        </dl>
      )}
    </section>
  );
}

export function PartnerScreen() {
  const [refresh, setRefresh] = useState(0);
  const changed = () => setRefresh((n) => n + 1);
  return (
    <div>
      <h1>Partner</h1>
      <div className="grid">
        <OpenAccount onChanged={changed} />
        <IssueKeys />
        <OpenContract onChanged={changed} />
        <CreateDomain />
        <LookUpAccount />
      </div>
      <CustomerList refresh={refresh} />
      <TestClocks />
    </div>
  );
}
