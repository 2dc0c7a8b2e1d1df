// The Statement: the ledger with its running balance, filtered by month, exported as CSV.

export interface LedgerEntry {
  id: string;
  at: string;
  kind: "redemption" | "usage" | "adjustment" | string;
  amount: string;
  balance_after: string;
  note?: string | null;
  period_start?: string | null;
  period_end?: string | null;
}

/** "2026-12" for an instant (UTC, as the ledger is kept). */
export function monthOf(instant: string): string {
  return new Date(instant).toISOString().slice(0, 7);
}

export function months(entries: readonly LedgerEntry[]): string[] {
  return [...new Set(entries.map((e) => monthOf(e.at)))].sort().reverse();
}

export function inMonth(entries: readonly LedgerEntry[], month: string | null): LedgerEntry[] {
  return month ? entries.filter((e) => monthOf(e.at) === month) : [...entries];
}

const KINDS: Record<string, string> = {
  redemption: "Credits loaded",
  usage: "Rental charged",
  adjustment: "Adjustment",
};

export function kindLabel(kind: string): string {
  return KINDS[kind] ?? kind;
}

function cell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The statement as CSV (RFC 4180): oldest first, amounts and balances as the ledger keeps them, in iSC. */
export function statementCsv(entries: readonly LedgerEntry[]): string {
  const rows = [...entries].sort((a, b) => a.at.localeCompare(b.at));
  const lines = [["date", "what", "amount_isc", "balance_isc", "note"].join(",")];
  for (const e of rows) {
    lines.push([e.at, kindLabel(e.kind), e.amount, e.balance_after, e.note ?? ""].map(cell).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
