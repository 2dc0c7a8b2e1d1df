import { useState } from "react";

/** A button's action: busy while it runs, its error as a sentence, its result for a success note. */
export function useAction<A extends unknown[], T>(action: (...args: A) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [result, setResult] = useState<T | null>(null);
  async function run(...args: A): Promise<T | null> {
    setBusy(true);
    setError(null);
    try {
      const value = await action(...args);
      setResult(value);
      return value;
    } catch (caught) {
      setError(caught instanceof Error ? caught : new Error(String(caught)));
      return null;
    } finally {
      setBusy(false);
    }
  }
  return { run, busy, error, result, clear: () => (setError(null), setResult(null)) };
}
