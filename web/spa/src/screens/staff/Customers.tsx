// What staff see of their customers: every account with a rental contract (the contracts service lists them;
// the wallet adds name and balance), and for the operator the contracts waiting for approval.

import { api } from "../../api/client";
import type { Account, Contract, Page } from "../../api/types";
import { Empty, ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad, usePolling } from "../../components/useLoad";
import { formatIsc, toMicro } from "../../money";
import { Explain } from "../../components/Explain";

const OPENED_HERE = "staff.opened-accounts";

/** Accounts opened in this browser that have no contract yet still show (the wallet has no account listing). */
export function rememberOpened(accountId: string): void {
  const known = new Set<string>(JSON.parse(window.localStorage.getItem(OPENED_HERE) ?? "[]") as string[]);
  known.add(accountId);
  window.localStorage.setItem(OPENED_HERE, JSON.stringify([...known].slice(-50)));
}

async function allContracts(): Promise<Contract[]> {
  const found: Contract[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
    const result: Page<Contract> = await api.get<Page<Contract>>("contracts", `/contracts${query}`);
    found.push(...result.items);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return found;
}

interface Customer {
  account: Account | null;
  accountId: string;
  contracts: Contract[];
}

async function customers(): Promise<Customer[]> {
  const contracts = await allContracts();
  const ids = [...new Set([...contracts.map((c) => c.account_id), ...(JSON.parse(window.localStorage.getItem(OPENED_HERE) ?? "[]") as string[])])];
  return Promise.all(
    ids.map(async (accountId) => ({
      accountId,
      account: await api.get<Account>("wallet", `/accounts/${accountId}`).catch(() => null),
      contracts: contracts.filter((c) => c.account_id === accountId),
    })),
  );
}

export function CustomerList({ refresh = 0 }: { refresh?: number }) {
  const list = useLoad(customers, [refresh]);
  usePolling(list.reload, 10_000);
  const items = (list.data ?? []).filter((c) => c.account !== null);
  return (
    <section className="card wide" aria-labelledby="customers-title">
      <h2 id="customers-title">Your customers</h2>
      <Explain>Every customer account you serve, its credits and its contracts' state, at a glance.</Explain>
      {list.state === "loading" && !list.data && <Loading what="customers" />}
      {list.state === "error" && <ErrorNote error={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && <Empty>No customers yet: open an account for the first one.</Empty>}
      {items.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Balance</th>
                <th scope="col" className="wide-only">
                  Burn rate
                </th>
                <th scope="col">Contract</th>
              </tr>
            </thead>
            <tbody>
              {items.map(({ account, accountId, contracts }) => (
                <tr key={accountId} data-testid={`customer-${accountId}`}>
                  <td>
                    <strong>{account?.name}</strong>
                    <br />
                    <small>
                      <code>{accountId}</code>
                    </small>
                  </td>
                  <td>{account ? `${formatIsc(toMicro(account.balance))} iSC` : "—"}</td>
                  <td className="wide-only">{account ? `${formatIsc(toMicro(account.burn_rate_per_day))} / day` : "—"}</td>
                  <td>
                    {contracts.length === 0
                      ? "none yet"
                      : contracts.map((c) => (
                          <div key={c.id}>
                            <code>{c.id.slice(0, 8)}</code> {c.status.replace("_", " ")}
                          </div>
                        ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function PendingApprovals({ onApproved }: { onApproved?: () => void }) {
  const list = useLoad(async () => {
    const pending = (await allContracts()).filter((c) => c.status === "pending_approval");
    const names = await Promise.all(
      pending.map((c) => api.get<Account>("wallet", `/accounts/${c.account_id}`).then((a) => a.name, () => c.account_id)),
    );
    return pending.map((contract, i) => ({ contract, name: names[i] }));
  }, []);
  usePolling(list.reload, 5000);
  const approve = useAction((id: string) => api.post<Contract>("contracts", `/contracts/${id}/approval`, {}));
  const items = list.data ?? [];
  return (
    <section className="card" aria-labelledby="pending-title">
      <h2 id="pending-title">Contracts to approve</h2>
      <Explain>A contract the customer accepted becomes active once you approve it; then devices can be rented.</Explain>
      {list.state === "loading" && !list.data && <Loading what="contracts" />}
      {list.state === "error" && <ErrorNote error={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && <Empty>No contract is waiting for approval.</Empty>}
      <ul className="rows">
        {items.map(({ contract, name }) => (
          <li key={contract.id} className="row" data-testid={`pending-${contract.id}`}>
            <span>
              <strong>{name}</strong> <code>{contract.id.slice(0, 8)}</code>
            </span>
            <button
              type="button"
              disabled={approve.busy}
              aria-label={`Approve the contract of ${name}`}
              onClick={async () => {
                if (await approve.run(contract.id)) {
                  list.reload();
                  onApproved?.();
                }
              }}
            >
              Approve
            </button>
          </li>
        ))}
      </ul>
      {approve.error && <ErrorNote error={approve.error} />}
      {approve.result && <Success>Contract {approve.result.id.slice(0, 8)} approved: it is now active.</Success>}
    </section>
  );
}
