// The Rental overview's picture: the balance over the past weeks (from the ledger), the projected line to the
// run-out over the scheduled rate changes, the warning thresholds and the Auto-iSC reloads marked. Drawn by uPlot
// (a small, well-kept chart library from the npm registry, pinned in package-lock.json), bundled, no CDN.

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { Account } from "../../api/types";
import { autoReloadMarks, pastBalance, projection, warningInstants } from "../../burndown";
import { Empty, ErrorNote, Loading } from "../../components/Status";
import { useLoad } from "../../components/useLoad";
import { Explain } from "../../components/Explain";
import { accountTimes, balanceAt, DEFAULT_WARNING_THRESHOLDS_S } from "../../money";
import { wholeLedger } from "./StatementTab";

interface Scheduled {
  effective_at: string;
  burn_rate_per_day: string;
}

export function BurnDownChart({ account, readAtMs }: { account: Account; readAtMs: number }) {
  const ledger = useLoad(() => wholeLedger(account.id), [account.id, account.balance]);
  const box = useRef<HTMLDivElement>(null);
  const scheduled = ((account as { scheduled_rates?: Scheduled[] }).scheduled_rates ?? []) as Scheduled[];
  const ladder = account.warning_thresholds_s ?? DEFAULT_WARNING_THRESHOLDS_S;
  useEffect(() => {
    if (!box.current || !ledger.data) return;
    const times = accountTimes(account, readAtMs, Date.now());
    const nowMs = times.nowMs;
    const past = pastBalance(ledger.data, { nowMs });
    const ahead = projection({
      balance: balanceAt({ balance: account.balance, ratePerDay: account.burn_rate_per_day, ...times }),
      nowMs,
      ratePerDay: account.burn_rate_per_day,
      scheduled,
      depletesAt: account.depletes_at,
    });
    // One x axis for both lines: each is null where the other has its points.
    const xs = [...past.map((p) => p.t), ...ahead.map((p) => p.t)];
    const pastY = [...past.map((p) => p.isc), ...ahead.map((_, i) => (i === 0 ? ahead[0].isc : null))];
    const aheadY = [...past.map(() => null), ...ahead.map((p) => p.isc)];
    const marks = warningInstants(account.depletes_at, ladder, nowMs);
    const reloads = autoReloadMarks(ledger.data, { nowMs });
    const chart = new uPlot(
      {
        width: Math.max(240, box.current.clientWidth || 320),
        height: 220,
        title: "Balance (iSC)",
        scales: { x: { time: true } },
        series: [
          {},
          { label: "Balance", stroke: "#1f6feb", width: 2, spanGaps: false },
          { label: "Projected", stroke: "#d29922", width: 2, dash: [6, 4], spanGaps: true },
        ],
        axes: [{}, { label: "iSC" }],
        hooks: {
          draw: [
            (u: uPlot) => {
              // The warning thresholds: a thin red line at each instant the account is warned.
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = "#cf222e";
              ctx.setLineDash([2, 3]);
              for (const t of marks) {
                const x = u.valToPos(t, "x", true);
                if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
                ctx.beginPath();
                ctx.moveTo(x, u.bbox.top);
                ctx.lineTo(x, u.bbox.top + u.bbox.height);
                ctx.stroke();
              }
              // The Auto-iSC reloads: a green dot where each one lifted the balance.
              ctx.setLineDash([]);
              ctx.fillStyle = "#1a7f37";
              for (const r of reloads) {
                const x = u.valToPos(r.t, "x", true);
                const y = u.valToPos(r.isc, "y", true);
                if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
                ctx.beginPath();
                ctx.arc(x, y, 5 * devicePixelRatio, 0, 2 * Math.PI);
                ctx.fill();
              }
              ctx.restore();
            },
          ],
        },
      },
      [xs, pastY, aheadY] as uPlot.AlignedData,
      box.current,
    );
    // Follow the card's width (a phone, a rotated tablet): the chart never makes the page wider than the screen.
    const resize = new ResizeObserver(() => {
      if (box.current) chart.setSize({ width: Math.max(240, box.current.clientWidth), height: 220 });
    });
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ledger.data, account.depletes_at, account.burn_rate_per_day, readAtMs]);
  return (
    <section className="card chart" aria-labelledby="chart-title">
      <h2 id="chart-title">Burn-down</h2>
      <Explain>
        Your balance over the past weeks, and where it is heading: red marks are your warning thresholds, green dots
        the reloads Auto-iSC made.
      </Explain>
      {ledger.state === "loading" && !ledger.data && <Loading what="the balance history" />}
      {ledger.state === "error" && <ErrorNote error={ledger.error} onRetry={ledger.reload} />}
      {ledger.state === "ready" && ledger.data?.length === 0 && <Empty>No credits loaded yet.</Empty>}
      <div ref={box} data-testid="burn-down-chart" role="img" aria-label="Balance over time and projected run-out" />
    </section>
  );
}
