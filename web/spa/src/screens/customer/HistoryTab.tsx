// History: everything that happened to the contract, newest first, a page at a time.

import { useState } from "react";

import { api } from "../../api/client";
import type { HistoryEntry, Page } from "../../api/types";
import { Empty, ErrorNote, Loading } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { formatInstant } from "../../money";
import { Explain } from "../../components/Explain";

const PAGE_SIZE = 10;

export function HistoryTab({ contractId }: { contractId: string }) {
  const [more, setMore] = useState<HistoryEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
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
  const entries = [...(first.data?.items ?? []), ...more];
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <Explain>Everything that happened to your account and contract, newest first.</Explain>
      {first.state === "loading" && !first.data && <Loading what="history" />}
      {first.state === "error" && <ErrorNote error={first.error} onRetry={first.reload} />}
      {first.state === "ready" && entries.length === 0 && <Empty>Nothing has happened yet.</Empty>}
      {entries.length > 0 && (
        <ol className="timeline" data-testid="history">
          {entries.map((entry, index) => (
            <li key={`${entry.at}-${index}`}>
              <time dateTime={entry.at}>{formatInstant(entry.at)}</time>
              <span className="event-type">{entry.type}</span>
              <span>{entry.summary}</span>
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
