import { describe, expect, it } from "vitest";

import { accountTimes, balanceAt, formatIsc, runway, runwayLevel, span, timeLeft, toMicro } from "./money";

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

  it("warns by the wallet's default ladder: from seven weeks before run-out, urgently in the last week", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(runwayLevel(null, now)).toBe("none");
    expect(runwayLevel("2026-06-01T00:00:00Z", now)).toBe("ok");
    expect(runwayLevel("2026-02-01T00:00:00Z", now)).toBe("warned");
    expect(runwayLevel("2026-01-03T00:00:00Z", now)).toBe("urgent");
    expect(runwayLevel("2025-12-31T00:00:00Z", now)).toBe("depleted");
    expect(runway("2026-01-03T00:00:00Z", now).thresholdS).toBe(7 * 86_400);
  });

  it("warns by the account's own ladder when it has one", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const ladder = [3_600, 7_200];
    expect(runwayLevel("2026-01-01T03:00:00Z", now, "funded", ladder)).toBe("ok");
    // Both thresholds are within a week: the larger one is already urgent.
    expect(runway("2026-01-01T01:30:00Z", now, "funded", ladder)).toEqual({ level: "urgent", thresholdS: 7_200 });
    // A ladder of weeks only: urgent from its smallest threshold.
    const weeks = [14 * 86_400, 28 * 86_400];
    expect(runwayLevel("2026-01-20T00:00:00Z", now, "funded", weeks)).toBe("warned");
    expect(runwayLevel("2026-01-10T00:00:00Z", now, "funded", weeks)).toBe("urgent");
  });

  it("says a threshold in words", () => {
    expect(span(7 * 86_400)).toBe("a week");
    expect(span(49 * 86_400)).toBe("7 weeks");
    expect(span(3 * 86_400)).toBe("3 days");
    expect(span(7_200)).toBe("2 hours");
    expect(span(90)).toBe("90 seconds");
  });

  it("says how long is left in words", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(timeLeft("2026-01-02T03:00:00Z", now)).toBe("1 day 3 h");
    expect(timeLeft("2026-01-25T00:00:00Z", now)).toBe("3 weeks 3 days");
    expect(timeLeft("2026-01-01T00:05:30Z", now)).toBe("5 min 30 s");
  });
});

describe("accountTimes", () => {
  it("is the wall clock for a live account, burning from the read", () => {
    const times = accountTimes({ test_clock_time: null }, 1_000, 61_000);
    expect(times).toEqual({ nowMs: 61_000, readAtMs: 1_000 });
    expect(balanceAt({ balance: "86400", ratePerDay: "86400", ...times })).toBe(toMicro("86340"));
  });

  it("is the test clock's time for an account on one, standing still whatever the wall clock says", () => {
    const clock = "2027-03-01T12:00:00Z";
    for (const wallMs of [0, 1_000, Date.parse("2030-01-01T00:00:00Z")]) {
      const times = accountTimes({ test_clock_time: clock }, 5_000, wallMs);
      expect(times.nowMs).toBe(Date.parse(clock));
      expect(balanceAt({ balance: "12.5", ratePerDay: "86400", ...times })).toBe(toMicro("12.5"));
    }
  });
});
