import { describe, expect, it } from "vitest";

import { autoReloadMarks, pastBalance, projection, warningInstants } from "./burndown";

const NOW = Date.parse("2026-12-01T00:00:00Z");

describe("the burn-down chart", () => {
  it("projects the balance to zero at the run-out, bending at each scheduled rate change", () => {
    const points = projection({
      balance: 50_000_000n,
      nowMs: NOW,
      ratePerDay: "7",
      scheduled: [{ effective_at: "2026-12-03T00:00:00Z", burn_rate_per_day: "5" }],
      depletesAt: "2026-12-10T04:48:00Z",
    });
    expect(points.map((p) => p.isc)).toEqual([50, 36, 0]);
    expect(points[2].t).toBe(Date.parse("2026-12-10T04:48:00Z") / 1000);
  });

  it("keeps the ledger's past weeks only, oldest first", () => {
    const past = pastBalance(
      [
        { at: "2026-11-30T00:00:00Z", balance_after: "48.5" },
        { at: "2026-09-01T00:00:00Z", balance_after: "90" },
        { at: "2026-11-20T00:00:00Z", balance_after: "50" },
      ],
      { nowMs: NOW },
    );
    expect(past.map((p) => p.isc)).toEqual([50, 48.5]);
  });

  it("marks each warning threshold before the run-out", () => {
    expect(warningInstants("2026-12-15T00:00:00Z", [7 * 86_400], NOW)).toEqual([
      Date.parse("2026-12-08T00:00:00Z") / 1000,
    ]);
    expect(warningInstants(null, [86_400], NOW)).toEqual([]);
  });

  it("marks the Auto-iSC reloads of the past weeks only, at the balance each one left", () => {
    const marks = autoReloadMarks(
      [
        { at: "2026-11-30T00:00:00Z", balance_after: "12", kind: "auto_reload" },
        { at: "2026-11-29T00:00:00Z", balance_after: "30", kind: "redemption" },
        { at: "2026-11-28T00:00:00Z", balance_after: "29", kind: "usage" },
        { at: "2026-09-01T00:00:00Z", balance_after: "10", kind: "auto_reload" },
        { at: "2026-11-20T00:00:00Z", balance_after: "8", kind: "auto_reload" },
      ],
      { nowMs: NOW },
    );
    expect(marks).toEqual([
      { t: Date.parse("2026-11-20T00:00:00Z") / 1000, isc: 8 },
      { t: Date.parse("2026-11-30T00:00:00Z") / 1000, isc: 12 },
    ]);
  });
});
