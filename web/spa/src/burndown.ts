// The burn-down chart's data: the balance over the past weeks from the ledger, the projected line to the run-out
// over the scheduled rate changes, and the warning thresholds as instants. Pure, so it is unit tested.

import { toMicro } from "./money";

export interface BalancePoint {
  /** Seconds since 1970 (uPlot's x). */
  t: number;
  /** iSC (a chart's y; the money itself stays integer micro-iSC everywhere else). */
  isc: number;
}

const MICRO = 1_000_000;
const DAY_S = 86_400;

export function pastBalance(
  entries: readonly { at: string; balance_after: string }[],
  { nowMs, weeks = 8 }: { nowMs: number; weeks?: number },
): BalancePoint[] {
  const since = nowMs / 1000 - weeks * 7 * DAY_S;
  return entries
    .map((e) => ({ t: Date.parse(e.at) / 1000, isc: Number(toMicro(e.balance_after)) / MICRO }))
    .filter((p) => p.t >= since)
    .sort((a, b) => a.t - b.t);
}

/** The balance from now on: at each scheduled rate change and at the run-out, where it reaches zero. */
export function projection(args: {
  balance: bigint;
  nowMs: number;
  ratePerDay: string;
  scheduled: readonly { effective_at: string; burn_rate_per_day: string }[];
  depletesAt: string | null;
}): BalancePoint[] {
  const now = args.nowMs / 1000;
  const points: BalancePoint[] = [{ t: now, isc: Number(args.balance) / MICRO }];
  if (!args.depletesAt) return points;
  const end = Date.parse(args.depletesAt) / 1000;
  let balance = Number(args.balance) / MICRO;
  let rate = Number(toMicro(args.ratePerDay)) / MICRO;
  let at = now;
  for (const step of [...args.scheduled].sort((a, b) => a.effective_at.localeCompare(b.effective_at))) {
    const t = Date.parse(step.effective_at) / 1000;
    if (t <= at) {
      rate = Number(toMicro(step.burn_rate_per_day)) / MICRO;
      continue;
    }
    if (t >= end) break;
    balance = Math.max(0, balance - (rate * (t - at)) / DAY_S);
    points.push({ t, isc: balance });
    at = t;
    rate = Number(toMicro(step.burn_rate_per_day)) / MICRO;
  }
  points.push({ t: end, isc: 0 });
  return points;
}

/** The warning ladder as instants before the run-out that are still ahead (seconds since 1970). */
export function warningInstants(depletesAt: string | null, thresholdsS: readonly number[], nowMs: number): number[] {
  if (!depletesAt) return [];
  const end = Date.parse(depletesAt) / 1000;
  return thresholdsS.map((s) => end - s).filter((t) => t > nowMs / 1000 - 8 * 7 * DAY_S);
}

/** The Auto-iSC reloads among the ledger's past weeks (entries of kind `auto_reload`), oldest first: each is
 * marked on the chart at its instant and the balance it left. */
export function autoReloadMarks(
  entries: readonly { at: string; balance_after: string; kind: string }[],
  { nowMs, weeks = 8 }: { nowMs: number; weeks?: number },
): BalancePoint[] {
  return pastBalance(
    entries.filter((e) => e.kind === "auto_reload"),
    { nowMs, weeks },
  );
}
