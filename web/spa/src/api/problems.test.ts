import { describe, expect, it } from "vitest";

import { friendlyMessage } from "./problems";

describe("friendly error messages", () => {
  it("speaks in sentences for known codes", () => {
    expect(friendlyMessage({ status: 409, code: "not_yet_known" })).toMatch(/try again in a few seconds/);
  });

  it("uses the service's own detail for an unknown client error, never raw JSON", () => {
    const message = friendlyMessage({ status: 409, code: "something_new", detail: "the device is in another domain" });
    expect(message).toBe("The device is in another domain.");
  });

  it("hides server internals behind a general sentence", () => {
    const message = friendlyMessage({ status: 500, detail: "Traceback: KeyError" });
    expect(message).not.toMatch(/Traceback/);
  });
});
