// Who is signed in decides the screen: a customer's rental view, a partner's or an operator's tools.

import { useEffect, useState } from "react";

import { currentUser, signIn, signOut, whenSignedOut, type User } from "./api/client";
import { loginErrorMessage } from "./api/problems";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ErrorNote, Loading } from "./components/Status";
import { useLoad } from "./components/useLoad";
import { RentalView } from "./screens/customer/RentalView";
import { OperatorScreen } from "./screens/staff/OperatorScreen";
import { PartnerScreen } from "./screens/staff/PartnerTools";

function SignedOut({ loginError }: { loginError: string | null }) {
  return (
    <main className="welcome">
      <h1>Hardware rental</h1>
      <p>Rent IP phones and gateways, paid with prepaid service credits (iSC).</p>
      {loginError && (
        <p className="status error" role="alert">
          {loginErrorMessage(loginError)}
        </p>
      )}
      <button type="button" onClick={() => signIn("/")}>
        Sign in
      </button>
    </main>
  );
}

function Screen({ user }: { user: User }) {
  if (user.roles.includes("operator")) return <OperatorScreen />;
  if (user.roles.includes("partner")) return <PartnerScreen />;
  if (user.roles.includes("customer") && user.account_id) return <RentalView accountId={user.account_id} />;
  return <ErrorNote error={new Error("Your sign-in carries no role of this platform. Ask your administrator.")} />;
}

export function App() {
  const user = useLoad(currentUser, []);
  const [expired, setExpired] = useState(false);
  useEffect(() => whenSignedOut(() => setExpired(true)), []);
  const loginError = new URLSearchParams(window.location.search).get("login_error");

  if (user.state === "loading" && !user.data) return <Loading what="your session" />;
  if (user.state === "error") return <ErrorNote error={user.error} onRetry={user.reload} />;
  if (!user.data) return <SignedOut loginError={loginError} />;
  const role = user.data.roles.join(", ");
  return (
    <>
      <header className="top">
        <span className="brand">Devices · Rental</span>
        <span className="who" data-testid="signed-in-as">
          {user.data.name} <small>({role})</small>
        </span>
        <button type="button" className="secondary" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      {expired && (
        <div className="status error" role="alert">
          <p>Your session has ended.</p>
          <button type="button" onClick={() => signIn()}>
            Sign in again
          </button>
        </div>
      )}
      <main>
        <ErrorBoundary>
          <Screen user={user.data} />
        </ErrorBoundary>
      </main>
    </>
  );
}
