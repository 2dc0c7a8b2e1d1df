// The Rental overview's heart: the iSC balance counting down live, the burn rate, the run-out and warnings.

import { useEffect, useState } from "react";

import type { Account } from "../../api/types";
import {
  accountTimes,
  balanceAt,
  DEFAULT_WARNING_THRESHOLDS_S,
  formatInstant,
  formatIsc,
  runway,
  span,
  timeLeft,
  toMicro,
} from "../../money";
import { Explain } from "../../components/Explain";

// The levels come from the account's warning ladder (the wallet's thresholds), the one its warnings use.
function warning(level: "warned" | "urgent" | "depleted", thresholdS: number | null): string {
  if (level === "depleted") return "Your balance is empty, so no device can be rented. Load credits with an activation key.";
  const within = span(thresholdS ?? 0);
  if (level === "urgent") return `Your credits run out within ${within}! Load more now, or your rented devices will stop.`;
  return `Your credits will run out within ${within}. Load more to keep your devices running.`;
}

export function BalanceCard({ account, readAtMs }: { account: Account; readAtMs: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(id);
  }, []);
  // A live account counts down on the wall clock; one on a test clock stands at the clock's time.
  const times = accountTimes(account, readAtMs, now);
  const balance = balanceAt({ balance: account.balance, ratePerDay: account.burn_rate_per_day, ...times });
  const burning = toMicro(account.burn_rate_per_day) > 0n;
  const ladder = account.warning_thresholds_s ?? DEFAULT_WARNING_THRESHOLDS_S;
  const { level, thresholdS } = runway(account.depletes_at, times.nowMs, account.status, ladder);
  return (
    <section className="card balance" aria-labelledby="balance-title">
      <h2 id="balance-title">Service credits</h2>
      <Explain>Your prepaid iSC, burning down live while devices are rented.</Explain>
      <p className="big">
        <span data-testid="balance" aria-label={`Balance ${formatIsc(balance, 6)} iSC`}>
          {formatIsc(balance, 6)}
        </span>{" "}
        <abbr title="innovaphone Service Credits">iSC</abbr>
      </p>
      <dl className="facts">
        <div>
          <dt>Burn rate</dt>
          <dd data-testid="burn-rate">{formatIsc(toMicro(account.burn_rate_per_day), 2)} iSC per day</dd>
        </div>
        <div>
          <dt>Runs out</dt>
          <dd data-testid="depletes-at">{burning && account.depletes_at ? formatInstant(account.depletes_at) : "Not burning"}</dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd>{burning && account.depletes_at ? timeLeft(account.depletes_at, times.nowMs) : "—"}</dd>
        </div>
        <div>
          <dt>Warned</dt>
          <dd data-testid="warning-ladder">
            {[...ladder].sort((a, b) => b - a).map(span).join(", ")} before run-out
            {account.warning_thresholds_source === "account" ? " (your own)" : ""}
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{account.status === "depleted" ? "Depleted" : "Funded"}</dd>
        </div>
      </dl>
      {(level === "warned" || level === "urgent" || level === "depleted") && (
        <p className={`warning ${level}`} role="alert" data-testid="runway-warning">
          {warning(level, thresholdS)}
        </p>
      )}
    </section>
  );
}
