// Statement: the account's ledger with its running balance, a month at a time, and a CSV export.

import { useState } from "react";

import { api } from "../../api/client";
import type { Page } from "../../api/types";
import { Empty, ErrorNote, Loading } from "../../components/Status";
import { useLoad } from "../../components/useLoad";
import { Explain } from "../../components/Explain";
import { formatInstant, formatIsc, toMicro } from "../../money";
import { inMonth, kindLabel, type LedgerEntry, months, statementCsv } from "../../statement";

const MAX_PAGES = 20;

/** Every ledger entry of the account, newest first (a statement is read whole, page after page). */
export async function wholeLedger(accountId: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const answer: Page<LedgerEntry> = await api.get<Page<LedgerEntry>>(
      "wallet",
      `/accounts/${accountId}/ledger?limit=200${query}`,
    );
    entries.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return entries;
}

export function StatementTab({ accountId }: { accountId: string }) {
  const ledger = useLoad(() => wholeLedger(accountId), [accountId]);
  const [month, setMonth] = useState<string | null>(null);
  const all = ledger.data ?? [];
  const shown = inMonth(all, month);
  function download() {
    const blob = new Blob([statementCsv(shown)], { type: "text/csv" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `statement-${month ?? "all"}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  }
  return (
    <section aria-labelledby="statement-title">
      <h2 id="statement-title">Statement</h2>
      <Explain>Every movement of your credit, with the balance after it.</Explain>
      {ledger.state === "loading" && !ledger.data && <Loading what="the statement" />}
      {ledger.state === "error" && <ErrorNote error={ledger.error} onRetry={ledger.reload} />}
      {ledger.state === "ready" && all.length === 0 && <Empty>No movements yet.</Empty>}
      {all.length > 0 && (
        <div className="row">
          <label>
            Month{" "}
            <select aria-label="Month" value={month ?? ""} onChange={(e) => setMonth(e.target.value || null)}>
              <option value="">all</option>
              {months(all).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="secondary" onClick={download}>
            Export CSV
          </button>
        </div>
      )}
      {shown.length > 0 && (
        <table data-testid="statement">
          <caption className="visually-hidden">Ledger entries</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Amount</th>
              <th scope="col">Balance</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id}>
                <td>{formatInstant(e.at)}</td>
                <td>{kindLabel(e.kind)}</td>
                <td>{formatIsc(toMicro(e.amount))} iSC</td>
                <td>{formatIsc(toMicro(e.balance_after))} iSC</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
