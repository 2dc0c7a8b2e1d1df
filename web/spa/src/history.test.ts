import { describe, expect, it } from "vitest";

import { sentence, timeLeftWords } from "./history";
import { inMonth, months, statementCsv } from "./statement";

describe("the history for a customer", () => {
  it("tells time left in honest units, never about 0 days", () => {
    expect(timeLeftWords(10 * 3_600)).toBe("10 hours 0 minutes");
    expect(timeLeftWords(45 * 60)).toBe("45 minutes");
    expect(timeLeftWords(59)).toBe("59 seconds");
    expect(timeLeftWords(86_400 + 7_200)).toBe("1 day 2 hours");
    expect(timeLeftWords(22 * 86_400)).toBe("3 weeks 1 day");
  });

  it("writes one sentence per change, with who did it and no event names or versions", () => {
    const low = sentence({ at: "", type: "BalanceLow", summary: "", data: { time_left_s: 36_000 } });
    expect(low.text).toBe("Reminder: the credit runs out in 10 hours 0 minutes.");
    expect(low.who).toBe("the platform");
    const rented = sentence({
      at: "",
      type: "DeviceActivated",
      summary: "",
      data: { device: { hwid: "a1b2c3d4e5f6", product: "D785" }, rate_per_day: 2_500_000 },
    });
    expect(rented.text).toBe("You started renting D785 a1b2c3d4e5f6 at 2.50 iSC a day.");
    expect(rented.who).toBe("you");
    const snapshot = sentence({ at: "", type: "RentalChanged", summary: "rental v4: 0 device(s)", data: {} });
    expect(snapshot.internal).toBe(true);
    for (const s of [low, rented, snapshot]) {
      expect(s.text).not.toMatch(/RentalChanged|BalanceLow|v\d+:/);
    }
  });
});

describe("the statement", () => {
  const entries = [
    { id: "1", at: "2026-11-30T10:00:00Z", kind: "redemption", amount: "50", balance_after: "50", note: null },
    { id: "2", at: "2026-12-01T00:00:00Z", kind: "usage", amount: "-1.5", balance_after: "48.5", note: 'a "quoted", note' },
  ];

  it("filters by month and lists the months newest first", () => {
    expect(months(entries)).toEqual(["2026-12", "2026-11"]);
    expect(inMonth(entries, "2026-11").map((e) => e.id)).toEqual(["1"]);
    expect(inMonth(entries, null)).toHaveLength(2);
  });

  it("exports CSV oldest first with quoted cells", () => {
    expect(statementCsv(entries)).toBe(
      "date,what,amount_isc,balance_isc,note\r\n" +
        "2026-11-30T10:00:00Z,Credits loaded,50,50,\r\n" +
        '2026-12-01T00:00:00Z,Rental charged,-1.5,48.5,"a ""quoted"", note"\r\n',
    );
  });
});
