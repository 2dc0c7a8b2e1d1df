// A screen that breaks shows a sentence and a way out, never a blank page or a stack trace.

import { Component, type ReactNode } from "react";

export class ErrorBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  componentDidCatch(error: Error): void {
    console.error("screen failed", error);
  }

  render() {
    if (this.state.failed) {
      return (
        <div className="status error" role="alert">
          <p>This screen could not be shown. Please reload the page; if it keeps happening, contact support.</p>
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}
