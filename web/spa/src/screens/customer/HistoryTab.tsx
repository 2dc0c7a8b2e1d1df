// History: everything that happened to the account and contract, newest first, one sentence per change with who
// did it; the internal detail (event type and data) behind a "details" toggle.

import { useState } from "react";

import { api } from "../../api/client";
import type { HistoryEntry, Page } from "../../api/types";
import { Empty, ErrorNote, Loading } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { sentence } from "../../history";
import { formatInstant } from "../../money";
import { Explain } from "../../components/Explain";

const PAGE_SIZE = 20;

export function HistoryTab({ contractId }: { contractId: string }) {
  const [more, setMore] = useState<HistoryEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [details, setDetails] = useState(false);
  const first = useLoad(async () => {
    const page = await api.get<Page<HistoryEntry>>("contracts", `/contracts/${contractId}/history?limit=${PAGE_SIZE}`);
    setMore([]);
    setCursor(page.next_cursor);
    return page;
  }, [contractId]);
  const next = useAction(async () => {
    if (!cursor) return null;
    const page = await api.get<Page<HistoryEntry>>(
      "contracts",
      `/contracts/${contractId}/history?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(cursor)}`,
    );
    setMore((old) => [...old, ...page.items]);
    setCursor(page.next_cursor);
    return page;
  });
  const entries = [...(first.data?.items ?? []), ...more].map((entry) => ({
    entry,
    said: sentence({ ...entry, data: (entry.data ?? {}) as Record<string, unknown> }),
  }));
  const shown = entries.filter(({ said }) => details || !said.internal);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <Explain>Everything that happened to your account and contract, newest first, and who did it.</Explain>
      <label className="toggle">
        <input type="checkbox" checked={details} onChange={(e) => setDetails(e.target.checked)} /> Show details
      </label>
      {first.state === "loading" && !first.data && <Loading what="history" />}
      {first.state === "error" && <ErrorNote error={first.error} onRetry={first.reload} />}
      {first.state === "ready" && shown.length === 0 && <Empty>Nothing has happened yet.</Empty>}
      {shown.length > 0 && (
        <ol className="timeline" data-testid="history">
          {shown.map(({ entry, said }, index) => (
            <li key={`${entry.at}-${index}`} data-type={entry.type}>
              <time dateTime={entry.at}>{formatInstant(entry.at)}</time>
              <span className="who">{said.who}</span>
              <span className="sentence">{said.text}</span>
              {details && (
                <details className="detail">
                  <summary>{entry.type}</summary>
                  <p>{entry.summary}</p>
                  <pre>{JSON.stringify(entry.data, null, 2)}</pre>
                </details>
              )}
            </li>
          ))}
        </ol>
      )}
      {cursor && (
        <button type="button" className="secondary" disabled={next.busy} onClick={() => next.run()}>
          {next.busy ? "Loading…" : "Show older entries"}
        </button>
      )}
      {next.error && <ErrorNote error={next.error} />}
    </section>
  );
}
