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
export function balanceAt(args: { balance: string; ratePerDay: string; readAtMs: number; nowMs: number }): bigint {
  const elapsedMs = BigInt(Math.max(0, Math.floor(args.nowMs - args.readAtMs)));
  const burned = (toMicro(args.ratePerDay) * elapsedMs) / (SECONDS_PER_DAY * 1000n);
  const left = toMicro(args.balance) - burned;
  return left > 0n ? left : 0n;
}

export type RunwayLevel = "none" | "ok" | "weeks" | "days" | "depleted";

const DAY_MS = 86_400_000;

/** How urgent the run-out is: the vendor warns weekly from 7 weeks before, we stress the last 7 days. */
export function runwayLevel(depletesAt: string | null, nowMs: number, status?: string): RunwayLevel {
  if (status === "depleted") return "depleted";
  if (!depletesAt) return "none";
  const left = Date.parse(depletesAt) - nowMs;
  if (left <= 0) return "depleted";
  if (left <= 7 * DAY_MS) return "days";
  if (left <= 49 * DAY_MS) return "weeks";
  return "ok";
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
