// Notifications of the account: where its e-mails go, and its webhook endpoints with their delivery log.

import { useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type { Contacts, Page, WebhookDelivery, WebhookEndpoint, WebhookEndpointCreated } from "../../api/types";
import { Explain } from "../../components/Explain";
import { Empty, ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { formatInstant } from "../../money";

export function Notifications({ accountId }: { accountId: string }) {
  return (
    <section className="card" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      <ContactAddresses accountId={accountId} />
      <WebhookEndpoints accountId={accountId} />
    </section>
  );
}

function ContactAddresses({ accountId }: { accountId: string }) {
  const [text, setText] = useState<string | null>(null);
  const contacts = useLoad(() => api.get<Contacts>("wallet", `/accounts/${accountId}/contacts`), [accountId]);
  const save = useAction(async (emails: string[]) => {
    const saved = await api.put<Contacts>("wallet", `/accounts/${accountId}/contacts`, { emails });
    contacts.reload();
    return saved;
  });
  const shown = text ?? (contacts.data?.emails ?? []).join(", ");
  async function submit(event: FormEvent) {
    event.preventDefault();
    const emails = shown.split(/[,\s]+/).filter(Boolean);
    if (await save.run(emails)) setText(null);
  }
  return (
    <div>
      <h3>E-mail</h3>
      <Explain>Low-balance warnings, the run-out and the restoration of your credit are e-mailed to these addresses.</Explain>
      {contacts.state === "error" && <ErrorNote error={contacts.error} onRetry={contacts.reload} />}
      <form onSubmit={submit} className="inline">
        <label htmlFor="contact-emails">Addresses</label>
        <input
          id="contact-emails"
          value={shown}
          onChange={(e) => setText(e.target.value)}
          placeholder="billing@example.com, ops@example.com"
          autoComplete="email"
        />
        <button type="submit" disabled={save.busy}>
          {save.busy ? "Saving…" : "Save"}
        </button>
      </form>
      {save.error && <ErrorNote error={save.error} />}
      {save.result && <Success>Saved: {save.result.emails.length} address(es).</Success>}
    </div>
  );
}

function WebhookEndpoints({ accountId }: { accountId: string }) {
  const [url, setUrl] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const base = `/accounts/${accountId}/webhook-endpoints`;
  const endpoints = useLoad(() => api.get<{ items: WebhookEndpoint[] }>("wallet", base), [accountId]);
  const register = useAction(async (target: string) => {
    const created = await api.post<WebhookEndpointCreated>("wallet", base, { url: target });
    endpoints.reload();
    return created;
  });
  const change = useAction(async (path: string, method: "POST" | "DELETE") => {
    await (method === "POST" ? api.post("wallet", path) : api.remove("wallet", path));
    endpoints.reload();
    return true;
  });
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await register.run(url.trim())) setUrl("");
  }
  const items = endpoints.data?.items ?? [];
  return (
    <div>
      <h3>Webhooks</h3>
      <Explain>
        Events of your account (credits loaded, low balance, run-out, restoration, rental changes, licence delivery
        failures) are posted to these URLs, signed as Standard Webhooks describes with the endpoint's secret.
      </Explain>
      <form onSubmit={submit} className="inline">
        <label htmlFor="webhook-url">Endpoint URL</label>
        <input
          id="webhook-url"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          placeholder="https://example.com/webhooks/isc"
          required
        />
        <button type="submit" disabled={register.busy || !url.trim()}>
          {register.busy ? "Adding…" : "Add endpoint"}
        </button>
      </form>
      {register.error && <ErrorNote error={register.error} />}
      {register.result && (
        <Success>
          Added. Its signing secret is shown this once, keep it now:{" "}
          <code data-testid="webhook-secret">{register.result.secret}</code>
        </Success>
      )}
      {endpoints.state === "loading" && !endpoints.data && <Loading what="webhook endpoints" />}
      {endpoints.state === "error" && <ErrorNote error={endpoints.error} onRetry={endpoints.reload} />}
      {endpoints.state === "ready" && items.length === 0 && <Empty>No webhook endpoint yet.</Empty>}
      {items.length > 0 && (
        <ul className="endpoints" data-testid="webhook-endpoints">
          {items.map((endpoint) => (
            <li key={endpoint.id}>
              <code>{endpoint.url}</code> <span className={`badge ${endpoint.status}`}>{endpoint.status}</span>
              {endpoint.disabled_reason && <span> ({endpoint.disabled_reason})</span>}{" "}
              <button type="button" className="secondary" onClick={() => setOpen(open === endpoint.id ? null : endpoint.id)}>
                {open === endpoint.id ? "Hide deliveries" : "Deliveries"}
              </button>
              {endpoint.status === "disabled" && (
                <button
                  type="button"
                  className="secondary"
                  disabled={change.busy}
                  onClick={() => change.run(`${base}/${endpoint.id}/reactivation`, "POST")}
                >
                  Enable again
                </button>
              )}
              <button
                type="button"
                className="secondary"
                disabled={change.busy}
                onClick={() => change.run(`${base}/${endpoint.id}`, "DELETE")}
              >
                Remove
              </button>
              {open === endpoint.id && <Deliveries path={`${base}/${endpoint.id}/deliveries`} />}
            </li>
          ))}
        </ul>
      )}
      {change.error && <ErrorNote error={change.error} />}
    </div>
  );
}

function Deliveries({ path }: { path: string }) {
  const deliveries = useLoad(() => api.get<Page<WebhookDelivery>>("wallet", `${path}?limit=20`), [path]);
  const replay = useAction(async (deliveryId: string) => {
    const replayed = await api.post<WebhookDelivery>("wallet", `${path}/${deliveryId}/replay`);
    deliveries.reload();
    return replayed;
  });
  const items = deliveries.data?.items ?? [];
  return (
    <div className="deliveries">
      {deliveries.state === "loading" && !deliveries.data && <Loading what="deliveries" />}
      {deliveries.state === "error" && <ErrorNote error={deliveries.error} onRetry={deliveries.reload} />}
      {deliveries.state === "ready" && items.length === 0 && <Empty>Nothing sent yet.</Empty>}
      {items.length > 0 && (
        <table data-testid="webhook-deliveries">
          <thead>
            <tr>
              <th>Event</th>
              <th>Created</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Last answer</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => {
              const last = d.log[d.log.length - 1];
              return (
                <tr key={d.id}>
                  <td>{d.event_type}</td>
                  <td>{formatInstant(d.created_at)}</td>
                  <td>
                    {d.status}
                    {d.next_attempt_at && ` (next ${formatInstant(d.next_attempt_at)})`}
                  </td>
                  <td>{d.attempts}</td>
                  <td>{last ? (last.status_code ?? last.error ?? "") : ""}</td>
                  <td>
                    <button type="button" className="secondary" disabled={replay.busy} onClick={() => replay.run(d.id)}>
                      Send again
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {replay.error && <ErrorNote error={replay.error} />}
    </div>
  );
}
