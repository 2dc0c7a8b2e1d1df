// Load iSC with an activation key (a one-time code sold by a partner).

import { useState, type FormEvent } from "react";

import { api, ApiError } from "../../api/client";
import type { Redemption } from "../../api/types";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { formatIsc, toMicro } from "../../money";
import { Explain } from "../../components/Explain";

export function LoadCredits({ accountId, onLoaded }: { accountId: string; onLoaded: () => void }) {
  const [code, setCode] = useState("");
  const redeem = useAction(async (keyCode: string) => {
    try {
      return await api.post<Redemption>("wallet", `/accounts/${accountId}/redemptions`, { code: keyCode });
    } catch (error) {
      // Here a 404 can only mean the key: say so, rather than the general "could not find that".
      if (error instanceof ApiError && error.status === 404) {
        throw new Error("No activation key has this code. Check it and try again.");
      }
      throw error;
    }
  });
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
      <Explain>Redeem an activation key from your partner: its iSC pay for your rentals.</Explain>
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
