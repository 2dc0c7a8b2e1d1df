// Auto-iSC: the account's automatic reload by time left, explained in plain words, with its state, the last
// reload and the next one expected. Its own component (minimal wiring in RentalView) so other cards merge freely.

import { useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type { components } from "../../api/generated/wallet";
import { Explain } from "../../components/Explain";
import { ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad } from "../../components/useLoad";
import { formatInstant } from "../../money";

type AutoReload = components["schemas"]["AutoReloadRead"];

const STATES: Record<AutoReload["state"], string> = {
  not_set: "Off: not set up yet",
  active: "On",
  disabled: "Switched off",
  suspended_by_partner: "Suspended by your partner",
  paused_after_run_out: "Paused: your credit ran out. Load credit with a key to resume it.",
};

const FAILURES: Record<string, string> = {
  monthly_cap_reached: "this month's limit was reached",
  suspended_by_partner: "your partner suspended Auto-iSC",
};

export function AutoReloadCard({ accountId, onChanged }: { accountId: string; onChanged?: () => void }) {
  const setting = useLoad(() => api.get<AutoReload>("wallet", `/accounts/${accountId}/auto-reload`), [accountId]);
  const [weeks, setWeeks] = useState<string | null>(null);
  const [amount, setAmount] = useState<string | null>(null);
  const [cap, setCap] = useState<string | null>(null);
  const save = useAction(async (enabled: boolean) => {
    const body = {
      threshold_days: Math.round(Number(shownWeeks) * 7),
      amount: shownAmount,
      monthly_cap: shownCap,
      enabled,
    };
    const saved = await api.put<AutoReload>("wallet", `/accounts/${accountId}/auto-reload`, body);
    setting.reload();
    onChanged?.();
    return saved;
  });
  const data = setting.data;
  const shownWeeks = weeks ?? String(data?.threshold_days ? data.threshold_days / 7 : 2);
  const shownAmount = amount ?? data?.amount ?? "100";
  const shownCap = cap ?? data?.monthly_cap ?? "300";
  async function submit(event: FormEvent) {
    event.preventDefault();
    await save.run(true);
  }
  return (
    <section className="card" aria-labelledby="auto-reload-title" data-testid="auto-reload">
      <h2 id="auto-reload-title">Auto-iSC</h2>
      <Explain>
        Auto-iSC tops up your credit by itself before it runs out. When the time your credit still lasts falls to
        the number of weeks you choose, we load the amount you choose at once; your partner delivers it and invoices
        you. It never loads more than your monthly limit: a reload the limit stopped is made when the next month
        starts, if your credit still lasts until then. It needs an active rental contract and at least a month of
        credit loaded by hand first.
      </Explain>
      {setting.state === "loading" && !data && <Loading what="Auto-iSC" />}
      {setting.state === "error" && <ErrorNote error={setting.error} onRetry={setting.reload} />}
      {data && (
        <dl className="facts">
          <dt>State</dt>
          <dd data-testid="auto-reload-state">{STATES[data.state]}</dd>
          <dt>Last reload</dt>
          <dd data-testid="auto-reload-last">
            {data.last_reload ? `${data.last_reload.amount} iSC on ${formatInstant(data.last_reload.ordered_at)}` : "None yet"}
          </dd>
          <dt>Next reload</dt>
          <dd data-testid="auto-reload-next">
            {data.next_reload_at ? `expected on ${formatInstant(data.next_reload_at)}` : "None expected at the current rate"}
          </dd>
          <dt>Loaded this month</dt>
          <dd>{data.reloaded_this_month} iSC</dd>
          {data.last_failure_reason && (
            <>
              <dt>Last problem</dt>
              <dd>
                Could not reload on {formatInstant(data.last_failure_at)}: {FAILURES[data.last_failure_reason]}.
              </dd>
            </>
          )}
        </dl>
      )}
      <form onSubmit={submit} className="inline">
        <label htmlFor="auto-reload-weeks">When this many weeks are left</label>
        <input
          id="auto-reload-weeks"
          inputMode="numeric"
          value={shownWeeks}
          onChange={(e) => setWeeks(e.target.value)}
        />
        <label htmlFor="auto-reload-amount">load (iSC)</label>
        <input id="auto-reload-amount" inputMode="decimal" value={shownAmount} onChange={(e) => setAmount(e.target.value)} />
        <label htmlFor="auto-reload-cap">at most per month (iSC)</label>
        <input id="auto-reload-cap" inputMode="decimal" value={shownCap} onChange={(e) => setCap(e.target.value)} />
        <button type="submit" disabled={save.busy}>
          {save.busy ? "Saving…" : data?.state === "not_set" ? "Turn on Auto-iSC" : "Save"}
        </button>
        {data && data.state !== "not_set" && data.enabled && (
          <button type="button" className="secondary" disabled={save.busy} onClick={() => save.run(false)}>
            Switch off
          </button>
        )}
      </form>
      {save.error && <ErrorNote error={save.error} />}
      {save.result && <Success>Saved: {STATES[save.result.state]}.</Success>}
    </section>
  );
}
