// The e-mail the platform sent to customers, as the development SMTP sink received it (`make run` starts the sink).

import { mailMessages, type SinkMail } from "../../api/client";
import { Explain } from "../../components/Explain";
import { ErrorNote } from "../../components/Status";
import { useLoad, usePolling } from "../../components/useLoad";

const REFRESH_MS = 5000;

function MailItem({ mail }: { mail: SinkMail }) {
  return (
    <li data-testid={`mail-${mail.number}`}>
      <details>
        <summary>
          <strong>{mail.subject}</strong> to {mail.rcpt_tos.join(", ")}, {new Date(mail.received_at).toLocaleString()}
        </summary>
        <p className="who">
          From {mail.mail_from}, <code>{mail.message_id}</code>
        </p>
        <pre className="mail-text">{mail.text}</pre>
      </details>
    </li>
  );
}

export function OutgoingMail() {
  const mail = useLoad(mailMessages, []);
  usePolling(mail.reload, REFRESH_MS);
  const items = mail.data ?? [];
  return (
    <section className="card" aria-labelledby="mail-title" data-testid="outgoing-mail">
      <h2 id="mail-title">Outgoing mail</h2>
      <Explain>
        The notices the platform e-mailed to customers (low balance, run-out, restoration, Auto-iSC), as the local mail
        sink received them, newest first. Open one to read its text.
      </Explain>
      {mail.state === "error" && <ErrorNote error={mail.error} onRetry={mail.reload} />}
      {mail.data && items.length === 0 && <p className="status empty">No mail sent yet.</p>}
      {items.length > 0 && (
        <ul className="mail-list">
          {items.map((m) => (
            <MailItem key={m.number} mail={m} />
          ))}
        </ul>
      )}
    </section>
  );
}
