// The History written for a customer: one sentence per change, who did it, no internal event names or versions.
// The entry's type and data stay available behind a "details" toggle (HistoryTab).

import { formatIsc, toMicro } from "./money";

export interface HistoryLine {
  at: string;
  type: string;
  summary: string;
  data: Record<string, unknown>;
}

export type Actor = "you" | "your partner" | "the operator" | "the platform";

export interface Sentence {
  text: string;
  who: Actor;
  /** Lines that only restate another (the rental snapshot after each change) are hidden unless details are open. */
  internal: boolean;
}

function isc(value: unknown): string {
  if (typeof value === "string") return `${formatIsc(toMicro(value))} iSC`;
  if (typeof value === "number") return `${formatIsc(BigInt(Math.round(value)))} iSC`; // micro-iSC in events
  return "";
}

function perDay(micro: unknown): string {
  return typeof micro === "number" ? `${formatIsc(BigInt(micro))} iSC a day` : "";
}

function device(data: Record<string, unknown>, key = "device"): string {
  const d = data[key] as { hwid?: string; product?: string } | undefined;
  return d?.hwid ? `${d.product ?? "device"} ${d.hwid}` : "a device";
}

/** Seconds of time left in honest units: weeks and days, days and hours, hours and minutes, minutes. */
export function timeLeftWords(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3_600);
  const minutes = Math.floor((s % 3_600) / 60);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (days >= 14) return `${plural(Math.floor(days / 7), "week")} ${plural(days % 7, "day")}`;
  if (days >= 1) return `${plural(days, "day")} ${plural(hours, "hour")}`;
  if (hours >= 1) return `${plural(hours, "hour")} ${plural(minutes, "minute")}`;
  if (minutes >= 1) return plural(minutes, "minute");
  return plural(s % 60, "second");
}

const REASONS: Record<string, string> = {
  deactivated_by_customer: "at your request",
  ended_by_customer: "at your request",
  device_removed: "because the device was removed from its domain",
  contract_terminated: "because the contract ended",
};

function reason(value: unknown): string {
  return typeof value === "string" ? (REASONS[value] ?? `(${value.replace(/_/g, " ")})`) : "";
}

/** The sentence a customer reads for one history line. */
export function sentence(line: HistoryLine): Sentence {
  const d = line.data;
  const said = (text: string, who: Actor, internal = false): Sentence => ({ text, who, internal });
  switch (line.type) {
    case "ContractOpened":
      return said("Your partner opened the contract.", "your partner");
    case "ContractAccepted":
      return said("You accepted the contract.", "you");
    case "ContractActivated":
      return said("The operator approved the contract: rentals can start.", "the operator");
    case "ContractSuspended":
      return said("The balance reached zero: rentals were paused (they are kept).", "the platform");
    case "ContractResumed":
      return said("Credit came back: the paused rentals run again.", "the platform");
    case "ContractTerminated":
      return said(`The contract ended ${reason(d.reason)}.`.replace(" .", "."), "your partner");
    case "DomainLinked":
      return said(`Domain ${String(d.name ?? "")} was linked to the contract.`.replace("  ", " "), "you");
    case "DomainUnlinked":
      return said("A domain was unlinked from the contract.", "you");
    case "DeviceActivated":
      return said(`You started renting ${device(d)} at ${perDay(d.rate_per_day)}.`, "you");
    case "DeviceDeactivated": {
      const removed = d.reason === "device_removed" || d.reason === "contract_terminated";
      return said(`The rental of ${device(d)} ended ${reason(d.reason)}.`, removed ? "the platform" : "you");
    }
    case "DeviceReplaced":
      return said(
        `${device(d, "old_device")} was replaced by ${device(d, "new_device")}; the rental carried on without a gap.`,
        "you",
      );
    case "SoftwareRentalStarted":
      return said(`You started renting ${String(d.count)} ${String(d.type)} licence(s) at ${isc(d.rate_per_day)} a day each.`, "you");
    case "SoftwareRentalChanged":
      return said(`You changed your ${String(d.type)} licences to ${String(d.count)}.`, "you");
    case "SoftwareRentalEnded":
      return said(`The rental of ${String(d.count)} ${String(d.type)} licence(s) ended ${reason(d.end_reason)}.`, "you");
    case "TariffChangeScheduled":
      return said(`The price of ${String(d.product ?? "a product").replace(/^licence:/, "")} will change to ${isc(d.rate_per_day)} a day.`, "the operator");
    case "TariffChanged":
      return said(`The price of ${String(d.product ?? "a product").replace(/^licence:/, "")} is now ${isc(d.rate_per_day)} a day.`, "the operator");
    case "CreditsLoaded":
      return said(
        `${isc(d.amount)} was loaded${d.key_id ? " with an activation key" : ""}; the balance was ${isc(d.balance_after)}.`,
        "you",
      );
    case "BalanceLow":
      return said(
        `Reminder: the credit runs out in ${timeLeftWords(Number(d.time_left_s ?? 0))}.`,
        "the platform",
      );
    case "BalanceDepleted":
      return said("The balance reached zero: rentals stopped.", "the platform");
    case "BalanceRestored":
      return said(`Credit was restored to ${isc(d.balance)}.`, "the platform");
    case "UsageSettled":
      return said(`${isc(d.amount)} of rental was charged.`, "the platform");
    case "BalanceAdjusted":
      return said(`The operator adjusted the balance by ${isc(d.amount)}.`, "the operator");
    case "RentalChanged":
      return said(`What you rent now burns ${perDay(d.burn_rate_per_day)}.`, "the platform", true);
    default:
      return said(line.summary, "the platform");
  }
}
