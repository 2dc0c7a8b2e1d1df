// Calls the services through the BFF (`/api/<service>/...`): the session cookie goes along, tokens never
// reach the browser. Every failure becomes an ApiError whose message is written for a person.

import { friendlyMessage, type Problem } from "./problems";

export type ServiceName = "wallet" | "contracts" | "provisioning" | "licensing";

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(friendlyMessage(problem));
    this.name = "ApiError";
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

async function problemOf(response: Response): Promise<Problem> {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const body = (await response.json()) as Partial<Problem>;
      return { ...body, status: response.status };
    } catch {
      // Not JSON after all: fall through to a problem made from the status alone.
    }
  }
  return { status: response.status };
}

const NOT_YET_KNOWN_RETRIES = 8;

let onSignedOut: () => void = () => undefined;

/** What the app does when the BFF says the session is over (it sends the person to sign in). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function call<T>(
  service: ServiceName,
  path: string,
  init: { method?: string; body?: unknown; idempotent?: boolean } = {},
): Promise<T> {
  return request<T>(`/api/${service}/v1${path}`, init);
}

/** One request to the BFF at `url`, with the retries and the error handling every call shares. */
async function request<T>(url: string, init: { method?: string; body?: unknown; idempotent?: boolean }): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  // Money-moving and creating requests carry an Idempotency-Key, so a retry never does the thing twice.
  if (method !== "GET" && init.idempotent !== false) headers["Idempotency-Key"] = crypto.randomUUID();
  let response: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    } catch {
      throw new ApiError({ status: 0, code: "service_unavailable" });
    }
    // One service has not yet heard of an object another just created (its event is on the way): the same
    // request, a moment later, is what the API asks for (409 not_yet_known). A few tries over ~5 s.
    if (response.status !== 409 || attempt >= NOT_YET_KNOWN_RETRIES) break;
    const problem = await problemOf(response.clone());
    if (problem.code !== "not_yet_known") break;
    await new Promise((resolve) => setTimeout(resolve, 250 * Math.min(attempt + 1, 4)));
  }
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401) onSignedOut();
    throw new ApiError(problem);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const api = {
  get: <T>(service: ServiceName, path: string) => call<T>(service, path),
  post: <T>(service: ServiceName, path: string, body: unknown = {}) =>
    call<T>(service, path, { method: "POST", body }),
  put: <T>(service: ServiceName, path: string, body: unknown) => call<T>(service, path, { method: "PUT", body }),
  remove: <T>(service: ServiceName, path: string) => call<T>(service, path, { method: "DELETE", idempotent: false }),
};

/** A message the development SMTP sink received (`scripts/smtp_sink.py`), newest first. */
export interface SinkMail {
  number: number;
  received_at: string;
  mail_from: string;
  rcpt_tos: string[];
  subject: string;
  message_id: string;
  text: string;
  html: string;
}

/** The mail the platform sent, as the development SMTP sink holds it (operators only; none where mail is real). */
export function mailMessages(): Promise<SinkMail[]> {
  return request<SinkMail[]>("/api/mail/messages", {});
}

export interface User {
  subject: string;
  name: string;
  roles: string[];
  account_id: string | null;
}

export async function currentUser(): Promise<User | null> {
  const response = await fetch("/auth/me", { credentials: "same-origin" });
  if (response.status === 401) return null;
  if (!response.ok) throw new ApiError(await problemOf(response));
  return (await response.json()) as User;
}

export function signIn(returnTo: string = window.location.pathname + window.location.search): void {
  window.location.assign(`/auth/login?return_to=${encodeURIComponent(returnTo)}`);
}

export async function signOut(): Promise<void> {
  await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
  window.location.assign("/");
}
