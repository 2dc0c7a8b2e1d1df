// What if: the run-out now and after a change the customer is about to make, before confirming it
// (`POST /contracts/{id}/forecast`; nothing is committed).

import { useEffect, useState } from "react";

import { api } from "../../api/client";
import { ErrorNote } from "../../components/Status";
import { timeLeftWords } from "../../history";
import { formatInstant, formatIsc, toMicro } from "../../money";

export interface ForecastPlan {
  activate?: string[];
  deactivate?: string[];
  replace?: { rental_id: string; device_id: string }[];
  software?: { domain_id: string; type: string; count: number }[];
}

interface RunwayForecast {
  burn_rate_per_day: string;
  depletes_at: string | null;
  time_left_s: number | null;
}

interface Forecast {
  at: string;
  now: RunwayForecast;
  after: RunwayForecast;
}

function left(runway: RunwayForecast): string {
  if (runway.time_left_s === null) return "nothing burns";
  if (runway.time_left_s === 0) return "no credit left";
  return `${timeLeftWords(runway.time_left_s)} (until ${formatInstant(runway.depletes_at)})`;
}

function isEmpty(plan: ForecastPlan): boolean {
  return !plan.activate?.length && !plan.deactivate?.length && !plan.replace?.length && !plan.software?.length;
}

export function ForecastPanel({ contractId, plan }: { contractId: string; plan: ForecastPlan }) {
  const [forecast, setForecast] = useState<Forecast | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const key = JSON.stringify(plan);
  useEffect(() => {
    if (isEmpty(plan)) {
      setForecast(null);
      setError(null);
      return;
    }
    let live = true;
    api
      .post<Forecast>("contracts", `/contracts/${contractId}/forecast`, plan)
      .then((answer) => live && (setForecast(answer), setError(null)))
      .catch((caught: unknown) => live && setError(caught instanceof Error ? caught : new Error(String(caught))));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [contractId, key]);
  return (
    <aside className="subtle-box forecast" aria-labelledby="forecast-title" data-testid="forecast">
      <h3 id="forecast-title">What if</h3>
      {isEmpty(plan) && <p>Select devices or licences to see when your credit would run out.</p>}
      {error && <ErrorNote error={error} />}
      {forecast && !isEmpty(plan) && (
        <dl>
          <dt>Now</dt>
          <dd data-testid="forecast-now">
            {formatIsc(toMicro(forecast.now.burn_rate_per_day))} iSC a day: {left(forecast.now)}
          </dd>
          <dt>After this change</dt>
          <dd data-testid="forecast-after">
            {formatIsc(toMicro(forecast.after.burn_rate_per_day))} iSC a day: {left(forecast.after)}
          </dd>
        </dl>
      )}
    </aside>
  );
}
