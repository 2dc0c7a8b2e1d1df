// What a person pastes to register a gateway: the simulator's `init` output as it is (one JSON line per
// gateway), a JSON object or list, or the hardware id and public key as the gateway's label shows them.

export interface GatewayIdentity {
  hwid: string;
  public_key: string;
  product: string | null;
}

/** 12 hex digits, bare or with ":" or "-" between the bytes (as provisioning accepts them). */
const HWID = /\b(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}\b|\b[0-9a-fA-F]{12}\b/;
/** base64url of a raw 32-byte Ed25519 key: 43 characters, no padding. */
const PUBLIC_KEY = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048](?![A-Za-z0-9_-])/;

function fromObject(value: unknown): GatewayIdentity | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  const hwid = typeof record.hwid === "string" ? record.hwid.trim() : "";
  const key = typeof record.public_key === "string" ? record.public_key.trim() : "";
  if (!hwid && !key) return null;
  return { hwid, public_key: key, product: typeof record.product === "string" ? record.product : null };
}

function fromJson(text: string): GatewayIdentity[] | null {
  try {
    const parsed: unknown = JSON.parse(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const found = list.map(fromObject).filter((g): g is GatewayIdentity => g !== null);
    return found.length ? found : null;
  } catch {
    return null;
  }
}

function fromWords(text: string): GatewayIdentity | null {
  // The key first: a 43-character key may itself contain 12 hex digits in a row.
  const key = PUBLIC_KEY.exec(text)?.[0] ?? "";
  const hwid = HWID.exec(key ? text.replace(key, " ") : text)?.[0] ?? "";
  if (!hwid && !key) return null;
  return { hwid, public_key: key, product: null };
}

/** Every gateway identity in the text, in order; empty when none can be read from it. */
export function parseGatewayIdentities(text: string): GatewayIdentity[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const whole = fromJson(trimmed);
  if (whole) return whole;
  const found: GatewayIdentity[] = [];
  for (const line of trimmed.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const json = line.trim().startsWith("{") ? fromJson(line.trim()) : null;
    if (json) found.push(...json);
    const words = json ? null : fromWords(line);
    // A line with both, e.g. "0004f2a1b2c3 <key>": one gateway per line.
    if (words && words.hwid && words.public_key) found.push(words);
  }
  if (found.length) return found;
  // "hwid" and "key" on separate lines, as copied from a label.
  const words = fromWords(trimmed);
  return words ? [words] : [];
}

/** What is still missing before this identity can be registered, as a sentence, or null. */
export function identityProblem(identity: GatewayIdentity): string | null {
  if (!HWID.test(identity.hwid) || identity.hwid.replace(/[:-]/g, "").length !== 12)
    return "The hardware id is 12 hex digits, e.g. 0004f2a1b2c3.";
  if (!PUBLIC_KEY.test(identity.public_key) || identity.public_key.length !== 43)
    return "The public key is 43 characters (base64url of the gateway's Ed25519 key).";
  return null;
}
