// Loading, empty and error states, the same everywhere. Errors are sentences, announced to screen readers.

import type { ReactNode } from "react";

export function Loading({ what }: { what: string }) {
  return (
    <p className="status loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorNote({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  return (
    <div className="status error" role="alert">
      <p>{error.message}</p>
      {onRetry && (
        <button type="button" className="secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="status empty">{children}</p>;
}

export function Success({ children }: { children: ReactNode }) {
  return (
    <p className="status success" role="status" aria-live="polite">
      {children}
    </p>
  );
}
