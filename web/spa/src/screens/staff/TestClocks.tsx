// Test clocks (the wallet's): rehearse weeks of a rental in seconds. Create a clock, open accounts on it (by its id,
// "Open a customer account"), advance it, delete it. An advance runs in the background: the list follows it until
// the clock is ready again, when every service has caught up with it.

import { useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type { Page, TestClock } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Explain } from "../../components/Explain";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad, usePolling } from "../../components/useLoad";
import { formatInstant } from "../../money";

const DAY_MS = 86_400_000;
const STEPS: readonly (readonly [string, number])[] = [
  ["1 day", DAY_MS],
  ["1 week", 7 * DAY_MS],
  ["4 weeks", 28 * DAY_MS],
];

/** A `datetime-local` value (the browser's local time) as an RFC 3339 instant in UTC. */
function instantOf(local: string): string {
  return new Date(local).toISOString();
}

function CreateTestClock({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [start, setStart] = useState("");
  const create = useAction(() =>
    api.post<TestClock>("wallet", "/test-clocks", { name: name.trim(), frozen_time: instantOf(start) }),
  );
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await create.run()) {
      setName("");
      onCreated();
    }
  }
  return (
    <form className="stack" onSubmit={submit} aria-label="Create a test clock">
      <label htmlFor="clock-name">Name</label>
      <input id="clock-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      <label htmlFor="clock-start">Starts at (simulated time)</label>
      <input id="clock-start" type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} required />
      <button type="submit" disabled={create.busy}>
        Create test clock
      </button>
      {create.error && <ErrorNote error={create.error} />}
      {create.result && (
        <Success>
          Test clock {create.result.name} created at {formatInstant(create.result.frozen_time)}. Its id, to open
          accounts on it: <code data-testid="new-test-clock-id">{create.result.id}</code>
        </Success>
      )}
    </form>
  );
}

function TestClockRow({ clock, onChanged }: { clock: TestClock; onChanged: () => void }) {
  const [step, setStep] = useState(String(DAY_MS));
  const [deleting, setDeleting] = useState(false);
  const advance = useAction(() =>
    api.post<TestClock>("wallet", `/test-clocks/${clock.id}/advance`, {
      to: new Date(Date.parse(clock.frozen_time) + Number(step)).toISOString(),
    }),
  );
  const remove = useAction(() => api.remove<void>("wallet", `/test-clocks/${clock.id}`));
  const advancing = clock.status === "advancing";
  return (
    <tr data-testid={`test-clock-${clock.name}`}>
      <td>{clock.name}</td>
      <td>
        <code>{clock.id}</code>
      </td>
      <td data-testid="test-clock-time">{formatInstant(clock.frozen_time)}</td>
      <td data-testid="test-clock-status">
        {advancing ? `advancing to ${formatInstant(clock.advancing_to)}` : "ready"}
      </td>
      <td>
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await advance.run()) onChanged();
          }}
        >
          <label htmlFor={`step-${clock.id}`}>Advance by</label>
          <select id={`step-${clock.id}`} value={step} onChange={(e) => setStep(e.target.value)}>
            {STEPS.map(([label, ms]) => (
              <option key={ms} value={String(ms)}>
                {label}
              </option>
            ))}
          </select>
          <button type="submit" disabled={advancing || advance.busy}>
            Advance
          </button>
          <button type="button" className="secondary" onClick={() => setDeleting(true)}>
            Delete
          </button>
        </form>
        {advance.error && <ErrorNote error={advance.error} />}
        {remove.error && <ErrorNote error={remove.error} />}
        {deleting && (
          <ConfirmDialog
            title={`Delete test clock ${clock.name}?`}
            confirmLabel="Delete clock"
            busy={remove.busy}
            onCancel={() => setDeleting(false)}
            onConfirm={async () => {
              await remove.run();
              setDeleting(false);
              onChanged();
            }}
          >
            The clock stops for good: nothing is due on it again. Its accounts stay readable at its last time; no live
            account is touched.
          </ConfirmDialog>
        )}
      </td>
    </tr>
  );
}

export function TestClocks() {
  const clocks = useLoad(() => api.get<Page<TestClock>>("wallet", "/test-clocks?limit=100"), []);
  const items = clocks.data?.items ?? [];
  // While one advances, follow it every second until it is ready.
  usePolling(clocks.reload, items.some((c) => c.status === "advancing") ? 1_000 : 30_000);
  return (
    <section className="card" aria-labelledby="test-clocks-title">
      <h2 id="test-clocks-title">Test clocks</h2>
      <Explain>
        Rehearse weeks of a rental in seconds: accounts opened on a test clock live by its simulated time, and
        advancing it does everything real time would have done, in order: settlements, warnings, Auto-iSC reloads,
        tariff changes, lease renewals, the run-out. Their bundles are marked simulated; production gateways refuse them.
      </Explain>
      <CreateTestClock onCreated={clocks.reload} />
      {clocks.state === "error" && <ErrorNote error={clocks.error} onRetry={clocks.reload} />}
      {clocks.data && items.length === 0 && <p className="status empty">No test clock yet.</p>}
      {items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Simulated time</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((clock) => (
              <TestClockRow key={clock.id} clock={clock} onChanged={clocks.reload} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
