// Load iSC with an activation key (a one-time code sold by a partner).

import { useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type { Redemption } from "../../api/types";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { formatIsc, toMicro } from "../../money";

export function LoadCredits({ accountId, onLoaded }: { accountId: string; onLoaded: () => void }) {
  const [code, setCode] = useState("");
  const redeem = useAction((keyCode: string) =>
    api.post<Redemption>("wallet", `/accounts/${accountId}/redemptions`, { code: keyCode }),
  );
  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await redeem.run(code.trim());
    if (done) {
      setCode("");
      onLoaded();
    }
  }
  return (
    <section className="card" aria-labelledby="load-title">
      <h2 id="load-title">Load credits</h2>
      <form onSubmit={submit} className="inline">
        <label htmlFor="activation-key">Activation key</label>
        <input
          id="activation-key"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          placeholder="e.g. ABCD-EFGH-JKLM-NPQR"
          autoComplete="off"
          required
        />
        <button type="submit" disabled={redeem.busy || !code.trim()}>
          {redeem.busy ? "Loading…" : "Load credits"}
        </button>
      </form>
      {redeem.error && <ErrorNote error={redeem.error} />}
      {redeem.result && (
        <Success>
          {formatIsc(toMicro(redeem.result.amount))} iSC loaded. New balance:{" "}
          {formatIsc(toMicro(redeem.result.balance))} iSC.
        </Success>
      )}
    </section>
  );
}
