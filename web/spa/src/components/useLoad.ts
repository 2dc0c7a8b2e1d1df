import { useCallback, useEffect, useRef, useState } from "react";

export type Loaded<T> =
  | { state: "loading"; data?: T; error?: undefined }
  | { state: "ready"; data: T; error?: undefined }
  | { state: "error"; data?: T; error: Error };

/** Runs `load` now and whenever `deps` change; `reload` runs it again (keeping the old data meanwhile). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> & { reload: () => void } {
  const [result, setResult] = useState<Loaded<T>>({ state: "loading" });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let current = true;
    setResult((old) => ({ state: "loading", data: old.data }));
    loadRef.current().then(
      (data) => current && setResult({ state: "ready", data }),
      (error: Error) => current && setResult((old) => ({ state: "error", error, data: old.data })),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...result, reload };
}

/** Re-runs `reload` every `ms` while the page is visible. */
export function usePolling(reload: () => void, ms: number): void {
  useEffect(() => {
    const id = window.setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, ms);
    return () => window.clearInterval(id);
  }, [reload, ms]);
}
