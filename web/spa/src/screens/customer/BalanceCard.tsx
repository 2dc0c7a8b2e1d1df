// The Rental overview's heart: the iSC balance counting down live, the burn rate, the run-out and warnings.

import { useEffect, useState } from "react";

import type { Account } from "../../api/types";
import { balanceAt, formatInstant, formatIsc, runwayLevel, timeLeft, toMicro } from "../../money";
import { Explain } from "../../components/Explain";

const WARNINGS = {
  weeks: "Your credits will run out within seven weeks. Load more to keep your devices running.",
  days: "Your credits run out within a week! Load more now, or your rented devices will stop.",
  depleted: "Your balance is empty, so no device can be rented. Load credits with an activation key.",
} as const;

export function BalanceCard({ account, readAtMs }: { account: Account; readAtMs: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(id);
  }, []);
  const balance = balanceAt({ balance: account.balance, ratePerDay: account.burn_rate_per_day, readAtMs, nowMs: now });
  const burning = toMicro(account.burn_rate_per_day) > 0n;
  const level = runwayLevel(account.depletes_at, now, account.status);
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
          <dd>{burning && account.depletes_at ? timeLeft(account.depletes_at, now) : "—"}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{account.status === "depleted" ? "Depleted" : "Funded"}</dd>
        </div>
      </dl>
      {(level === "weeks" || level === "days" || level === "depleted") && (
        <p className={`warning ${level}`} role="alert">
          {WARNINGS[level]}
        </p>
      )}
    </section>
  );
}
