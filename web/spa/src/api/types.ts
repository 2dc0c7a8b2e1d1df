// The resources the SPA reads. Each comes from the service's generated OpenAPI types (src/api/generated,
// `npm run gen:api`) once the service serves a schema with every field docs/design.md section 7 promises; until
// then it is the docs/design.md shape written out below, so the screens build against the agreed contract.

import type { components as Contracts } from "./generated/contracts";
import type { components as Licensing } from "./generated/licensing";
import type { components as Provisioning } from "./generated/provisioning";
import type { components as Wallet } from "./generated/wallet";

type Schemas<C> = C extends { schemas: infer S } ? ([S] extends [never] ? object : S) : object;
/** The generated schema `Name` if it has everything `Design` promises, else `Design`. */
type FromSpec<C, Name extends string, Design> = Name extends keyof Schemas<C>
  ? Schemas<C>[Name] extends Design
    ? Schemas<C>[Name]
    : Design
  : Design;

/** Amounts and rates: decimal strings in iSC. Times: RFC 3339 UTC. */
type Decimal = string;
type Instant = string;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type Account = FromSpec<
  Wallet,
  "AccountRead",
  {
    id: string;
    name: string;
    balance: Decimal;
    burn_rate_per_day: Decimal;
    depletes_at: Instant | null;
    status: "funded" | "depleted";
    /** The account's warning ladder (seconds of time left, largest first): its own, or the wallet's default. */
    warning_thresholds_s?: number[];
    /** The test clock it lives on, and the clock's time (the balance is read at it); null: a live account. */
    test_clock_id?: string | null;
    test_clock_time?: Instant | null;
  }
>;

export type TestClock = FromSpec<
  Wallet,
  "TestClockRead",
  {
    id: string;
    name: string;
    frozen_time: Instant;
    status: "ready" | "advancing";
    advancing_to?: Instant | null;
    created_at: Instant;
  }
>;

export type KeyBatch = FromSpec<
  Wallet,
  "KeyBatchRead",
  { batch_id: string; keys: { id: string; code: string }[] }
>;

export type Redemption = FromSpec<
  Wallet,
  "RedemptionRead",
  { amount: Decimal; balance: Decimal; depletes_at: Instant | null }
>;

export type ContractStatus = "draft" | "pending_approval" | "active" | "suspended" | "terminated";

export type Contract = FromSpec<
  Contracts,
  "ContractRead",
  { id: string; account_id: string; status: ContractStatus; domain_ids: string[]; burn_rate_per_day: Decimal }
>;

export type HardwareItem = FromSpec<
  Contracts,
  "HardwareItem",
  {
    device_id: string;
    hwid: string;
    product: string;
    domain_id: string;
    rentable: boolean;
    rental_id: string | null;
  }
>;

export type Rental = FromSpec<
  Contracts,
  "RentalRead",
  {
    id: string;
    device_id: string;
    hwid: string;
    product: string;
    status: "active" | "deactivated" | "replaced";
    rate_per_day: Decimal;
    activated_at: Instant;
    ended_at: Instant | null;
    replaced_by: string | null;
  }
>;

export type HistoryEntry = FromSpec<
  Contracts,
  "HistoryEntryRead",
  { at: Instant; type: string; summary: string; data: Record<string, unknown> }
>;

export type Tariff = FromSpec<
  Contracts,
  "TariffRead",
  { product: string; rate_per_day: Decimal; licences: { type: string; count: number }[] }
>;

export type Domain = FromSpec<Provisioning, "DomainRead", { id: string; account_id: string; name: string }>;

/** Per gateway of a domain: connected or not, the `seq` it holds and the one it acknowledged. */
export interface GatewayLicence {
  gateway_id: string;
  hwid: string;
  product: string;
  online: boolean;
  seq: number;
  acknowledged_seq: number;
  last_seen_at: Instant | null;
}

export type DomainLicences = FromSpec<
  Licensing,
  "DomainLicencesRead",
  {
    domain_id: string;
    bundle: {
      devices: { hwid: string; product: string }[];
      licences: { type: string; count: number }[];
      expires_at: Instant | null;
      stop_reason: string | null;
    };
    gateways: GatewayLicence[];
  }
>;

// Onboarding (domain, gateways, provisioning codes, devices): the generated shapes as they are.
export type Gateway = Provisioning["schemas"]["GatewayRead"];
export type Device = Provisioning["schemas"]["DeviceRead"];
export type ProvisioningCodeIssued = Provisioning["schemas"]["ProvisioningCodeIssued"];
export type ProvisioningCodeRead = Provisioning["schemas"]["ProvisioningCodeRead"];

// --- Notifications: the wallet's contact addresses, webhook endpoints and their delivery log ------------------

export type Contacts = FromSpec<Wallet, "ContactsRead", { account_id: string; emails: string[] }>;

export type WebhookEventType =
  | "credits.loaded"
  | "balance.low"
  | "balance.depleted"
  | "balance.restored"
  | "rental.changed"
  | "licence.delivery_failed";

export interface WebhookEndpoint {
  id: string;
  account_id: string;
  url: string;
  description: string;
  event_types: WebhookEventType[];
  status: "enabled" | "disabled";
  disabled_reason: string | null;
  created_at: Instant;
}

/** The answer to a registration: the only time the signing secret is shown. */
export interface WebhookEndpointCreated extends WebhookEndpoint {
  secret: string;
}

export interface WebhookAttempt {
  attempt: number;
  at: Instant;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface WebhookDelivery {
  id: string;
  message_id: string;
  endpoint_id: string;
  event_type: WebhookEventType;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: Instant | null;
  created_at: Instant;
  delivered_at: Instant | null;
  log: WebhookAttempt[];
}
