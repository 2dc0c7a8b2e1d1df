import { describe, expect, it } from "vitest";

import { balanceAt, formatIsc, runwayLevel, timeLeft, toMicro } from "./money";

describe("money", () => {
  it("parses decimal iSC strings into exact micro-iSC", () => {
    expect(toMicro("12.5")).toBe(12_500_000n);
    expect(toMicro("0.000001")).toBe(1n);
    expect(toMicro("3")).toBe(3_000_000n);
  });

  it("formats micro-iSC with grouping and truncates rather than rounds up", () => {
    expect(formatIsc(1_234_567_899n)).toBe("1,234.56");
    expect(formatIsc(999_999n, 6)).toBe("0.999999");
  });

  it("burns the balance down at the daily rate and never below zero", () => {
    const readAtMs = 1_000_000;
    const halfDay = 43_200_000;
    expect(balanceAt({ balance: "10", ratePerDay: "2", readAtMs, nowMs: readAtMs + halfDay })).toBe(9_000_000n);
    expect(balanceAt({ balance: "1", ratePerDay: "2", readAtMs, nowMs: readAtMs + 10 * halfDay })).toBe(0n);
    expect(balanceAt({ balance: "5", ratePerDay: "0", readAtMs, nowMs: readAtMs + halfDay })).toBe(5_000_000n);
  });

  it("warns in weeks from seven weeks before run-out and in days in the last week", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(runwayLevel(null, now)).toBe("none");
    expect(runwayLevel("2026-06-01T00:00:00Z", now)).toBe("ok");
    expect(runwayLevel("2026-02-01T00:00:00Z", now)).toBe("weeks");
    expect(runwayLevel("2026-01-03T00:00:00Z", now)).toBe("days");
    expect(runwayLevel("2025-12-31T00:00:00Z", now)).toBe("depleted");
  });

  it("says how long is left in words", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(timeLeft("2026-01-02T03:00:00Z", now)).toBe("1 day 3 h");
    expect(timeLeft("2026-01-25T00:00:00Z", now)).toBe("3 weeks 3 days");
    expect(timeLeft("2026-01-01T00:05:30Z", now)).toBe("5 min 30 s");
  });
});
