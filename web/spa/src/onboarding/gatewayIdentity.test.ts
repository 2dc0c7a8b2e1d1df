import { describe, expect, it } from "vitest";

import { identityProblem, parseGatewayIdentities } from "./gatewayIdentity";

const KEY = "tq7mGKxrYq0m6b3v1QyQ0k1o3kq8QkzN8m2Qn0V9dOk"; // 43 characters, last one valid for 32 bytes
const KEY2 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

describe("parseGatewayIdentities", () => {
  it("reads the simulator's init output as it is, one gateway per line", () => {
    const pasted = [
      JSON.stringify({ hwid: "0004f2a1b2c3", product: "GW-SIM-1", public_key: KEY, phones: ["aabbccddeeff"] }),
      JSON.stringify({ hwid: "0004f2a1b2c4", product: "GW-SIM-1", public_key: KEY2, phones: [] }),
    ].join("\n");
    expect(parseGatewayIdentities(pasted)).toEqual([
      { hwid: "0004f2a1b2c3", public_key: KEY, product: "GW-SIM-1" },
      { hwid: "0004f2a1b2c4", public_key: KEY2, product: "GW-SIM-1" },
    ]);
  });

  it("reads older init output without a product, and a JSON list", () => {
    expect(parseGatewayIdentities(JSON.stringify([{ hwid: "0004f2a1b2c3", public_key: KEY }]))).toEqual([
      { hwid: "0004f2a1b2c3", public_key: KEY, product: null },
    ]);
  });

  it("reads a hardware id and a key as a label shows them, in any order", () => {
    expect(parseGatewayIdentities(`Public key: ${KEY}\nHW id 00:04:f2:a1:b2:c3`)).toEqual([
      { hwid: "00:04:f2:a1:b2:c3", public_key: KEY, product: null },
    ]);
    expect(parseGatewayIdentities("0004f2a1b2c3")).toEqual([{ hwid: "0004f2a1b2c3", public_key: "", product: null }]);
  });

  it("finds nothing in nothing", () => {
    expect(parseGatewayIdentities("  ")).toEqual([]);
    expect(parseGatewayIdentities("hello")).toEqual([]);
  });
});

describe("identityProblem", () => {
  it("names what is missing", () => {
    expect(identityProblem({ hwid: "0004f2a1b2c3", public_key: KEY, product: null })).toBeNull();
    expect(identityProblem({ hwid: "0004f2a1b2c3", public_key: "", product: null })).toMatch(/public key/);
    expect(identityProblem({ hwid: "12", public_key: KEY, product: null })).toMatch(/hardware id/);
  });
});
