// iSC arithmetic in integer micro-iSC (BigInt), as the services do: never floats for money.

const MICRO = 1_000_000n;
const SECONDS_PER_DAY = 86_400n;

export function toMicro(decimal: string): bigint {
  const text = decimal.trim();
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
  if (!/^\d*$/.test(whole) || !/^\d*$/.test(fraction)) throw new Error(`not a decimal amount: ${decimal}`);
  const micro = BigInt(whole || "0") * MICRO + BigInt((fraction + "000000").slice(0, 6));
  return negative ? -micro : micro;
}

export function formatIsc(micro: bigint, digits = 2): string {
  const negative = micro < 0n;
  const abs = negative ? -micro : micro;
  const whole = abs / MICRO;
  const fraction = (abs % MICRO).toString().padStart(6, "0").slice(0, digits);
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${digits > 0 ? "." + fraction : ""}`;
}

/**
 * The balance at `nowMs`, burning at `ratePerDay` since it was read at `readAtMs`. Never below zero:
 * at zero the rental stops, it does not go into debt.
 */
/** The instant an account is shown at and the instant its balance was read at, on one time line: the wall clock
 * for a live account (its balance burns down between reads), its test clock's time for an account on a test
 * clock, which stands still between advances (the balance is then the one read, at the clock's time). */
export function accountTimes(
  account: { test_clock_time?: string | null },
  readAtMs: number,
  wallMs: number,
): { nowMs: number; readAtMs: number } {
  if (!account.test_clock_time) return { nowMs: wallMs, readAtMs };
  const clockMs = Date.parse(account.test_clock_time);
  return { nowMs: clockMs, readAtMs: clockMs };
}

export function balanceAt(args: { balance: string; ratePerDay: string; readAtMs: number; nowMs: number }): bigint {
  const elapsedMs = BigInt(Math.max(0, Math.floor(args.nowMs - args.readAtMs)));
  const burned = (toMicro(args.ratePerDay) * elapsedMs) / (SECONDS_PER_DAY * 1000n);
  const left = toMicro(args.balance) - burned;
  return left > 0n ? left : 0n;
}

export type RunwayLevel = "none" | "ok" | "warned" | "urgent" | "depleted";

const DAY_MS = 86_400_000;
const WEEK_S = 7 * 86_400;

/**
 * The wallet's default ladder (seconds of time left), for an account read from a wallet that does not show one.
 * The wallet's ladder is the only one: screens pass the account's `warning_thresholds_s`.
 */
export const DEFAULT_WARNING_THRESHOLDS_S: readonly number[] = [49, 42, 35, 28, 21, 14, 7, 3, 1].map((d) => d * 86_400);

export interface Runway {
  level: RunwayLevel;
  /** The threshold (seconds) the level started at: the ladder's first for `warned`, the urgent one for `urgent`. */
  thresholdS: number | null;
}

/**
 * How urgent the run-out is, by the account's own warning ladder (the wallet's thresholds, the same ones its
 * BalanceLow warnings and the gateways' bundles use): `warned` once the time left is within the ladder's largest
 * threshold, `urgent` within the largest threshold of at most a week (the smallest, if all are longer).
 */
export function runway(
  depletesAt: string | null,
  nowMs: number,
  status?: string,
  thresholdsS: readonly number[] = DEFAULT_WARNING_THRESHOLDS_S,
): Runway {
  if (status === "depleted") return { level: "depleted", thresholdS: null };
  if (!depletesAt) return { level: "none", thresholdS: null };
  const left = Date.parse(depletesAt) - nowMs;
  if (left <= 0) return { level: "depleted", thresholdS: null };
  const ladder = [...thresholdsS].sort((a, b) => b - a);
  if (ladder.length === 0) return { level: "ok", thresholdS: null };
  const withinAWeek = ladder.filter((t) => t <= WEEK_S);
  const urgentS = withinAWeek.length > 0 ? withinAWeek[0] : ladder[ladder.length - 1];
  if (left <= urgentS * 1000) return { level: "urgent", thresholdS: urgentS };
  if (left <= ladder[0] * 1000) return { level: "warned", thresholdS: ladder[0] };
  return { level: "ok", thresholdS: null };
}

export function runwayLevel(
  depletesAt: string | null,
  nowMs: number,
  status?: string,
  thresholdsS: readonly number[] = DEFAULT_WARNING_THRESHOLDS_S,
): RunwayLevel {
  return runway(depletesAt, nowMs, status, thresholdsS).level;
}

/** A threshold in words: "a week", "3 days", "2 hours", "90 seconds". */
export function span(seconds: number): string {
  const units: [number, string, string][] = [
    [WEEK_S, "a week", "weeks"],
    [86_400, "a day", "days"],
    [3_600, "an hour", "hours"],
    [60, "a minute", "minutes"],
  ];
  for (const [size, one, many] of units) {
    if (seconds >= size && seconds % size === 0) return seconds === size ? one : `${seconds / size} ${many}`;
  }
  return seconds === 1 ? "a second" : `${seconds} seconds`;
}

export function timeLeft(depletesAt: string, nowMs: number): string {
  const ms = Math.max(0, Date.parse(depletesAt) - nowMs);
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.floor((ms % DAY_MS) / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (days >= 14) return `${plural(Math.floor(days / 7), "week")} ${plural(days % 7, "day")}`;
  if (days >= 1) return `${plural(days, "day")} ${hours} h`;
  if (hours >= 1) return `${hours} h ${minutes} min`;
  return `${minutes} min ${Math.floor((ms % 60_000) / 1000)} s`;
}

export function formatInstant(instant: string | null | undefined): string {
  if (!instant) return "—";
  return new Date(instant).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
