// The customer's Devices App rental view: credits, contract and domain, and the tabs of the concept page.

import { useState } from "react";

import { api } from "../../api/client";
import type { Account, Contract } from "../../api/types";
import { ErrorNote, Loading } from "../../components/Status";
import { formatInstant } from "../../money";
import { useLoad, usePolling } from "../../components/useLoad";
import { AccessRights } from "./AccessRights";
import { AutoReloadCard } from "./AutoReloadCard";
import { BalanceCard } from "./BalanceCard";
import { BurnDownChart } from "./BurnDownChart";
import { ContractPicker, DomainPicker } from "./ContractAndDomainPicker";
import { ContractTab } from "./ContractTab";
import { DomainTab } from "./DomainSetup";
import { FirstRun } from "./FirstRun";
import { HardwareTab } from "./HardwareTab";
import { HistoryTab } from "./HistoryTab";
import { LicencesTab } from "./LicencesTab";
import { LoadCredits } from "./LoadCredits";
import { Notifications } from "./Notifications";
import { SoftwareTab } from "./SoftwareTab";
import { StatementTab } from "./StatementTab";

const TABS = [
  ["access", "Access rights"],
  ["domain", "Gateways & phones"],
  ["hardware", "Hardware"],
  ["software", "Software"],
  ["contract", "Contract"],
  ["history", "History"],
  ["licences", "Licences"],
  ["statement", "Statement"],
] as const;
type Tab = (typeof TABS)[number][0];

function useRemembered(key: string): [string | null, (value: string) => void] {
  const [value, setValue] = useState<string | null>(() => window.localStorage.getItem(key));
  return [
    value,
    (next: string) => {
      window.localStorage.setItem(key, next);
      setValue(next);
    },
  ];
}

/** An account on a test clock says so on every screen: its times are simulated, and it stands still between
 * advances (nothing counts down on the wall clock). */
function TestClockBanner({ at }: { at: string }) {
  return (
    <p className="warning test-clock" role="status" data-testid="test-clock-banner">
      Test clock: this is a rehearsal account, living at the simulated time{" "}
      <strong data-testid="test-clock-time">{formatInstant(at)}</strong>. It moves only when its clock is advanced; its
      bundles are simulated and production gateways refuse them.
    </p>
  );
}

export function RentalView({ accountId }: { accountId: string }) {
  const account = useLoad(async () => {
    const data = await api.get<Account>("wallet", `/accounts/${accountId}`);
    return { data, readAtMs: Date.now() };
  }, [accountId]);
  usePolling(account.reload, 30_000); // the live countdown is local; this keeps it honest
  const [contractId, setContractId] = useRemembered(`rental.contract.${accountId}`);
  const [domainId, setDomainId] = useRemembered(`rental.domain.${accountId}`);
  const contract = useLoad(
    () => (contractId ? api.get<Contract>("contracts", `/contracts/${contractId}`) : Promise.resolve(null)),
    [contractId],
  );
  const [tab, setTab] = useState<Tab>("access");
  const [pickerTick, setPickerTick] = useState(0); // a domain or contract created here: list them again

  function changed() {
    account.reload();
    contract.reload();
  }

  return (
    <div className="rental">
      <h1>Rental</h1>
      {account.state === "loading" && !account.data && <Loading what="your account" />}
      {account.state === "error" && <ErrorNote error={account.error} onRetry={account.reload} />}
      {account.data && (
        <p className="who">
          Account <strong data-testid="account-name">{account.data.data.name}</strong>
        </p>
      )}
      {account.data?.data.test_clock_time && <TestClockBanner at={account.data.data.test_clock_time} />}
      {account.data && account.data.data.balance === undefined && (
        <p className="status empty">The balance is not available yet.</p>
      )}
      {account.data && account.data.data.balance !== undefined && (
        <div className="overview">
          <BalanceCard account={account.data.data} readAtMs={account.data.readAtMs} />
          <LoadCredits accountId={accountId} onLoaded={changed} />
        </div>
      )}
      {account.data && account.data.data.balance !== undefined && (
        <BurnDownChart account={account.data.data} readAtMs={account.data.readAtMs} />
      )}
      {account.data && <AutoReloadCard accountId={accountId} onChanged={changed} />}
      {account.data && <Notifications accountId={accountId} />}
      <FirstRun
        accountId={accountId}
        account={account.data?.data ?? null}
        contractId={contractId}
        domainId={domainId}
        onContract={(id) => {
          setContractId(id);
          setPickerTick((t) => t + 1);
        }}
        onDomain={(id) => {
          setDomainId(id);
          setPickerTick((t) => t + 1);
        }}
        onChanged={changed}
      />
      <section className="card" aria-labelledby="choose-title" key={pickerTick}>
        <h2 id="choose-title">Contract and domain</h2>
        <ContractPicker accountId={accountId} selected={contractId} onSelect={setContractId} />
        <DomainPicker
          accountId={accountId}
          linked={contract.data?.domain_ids ?? []}
          selected={domainId}
          onSelect={setDomainId}
        />
      </section>
      {contract.state === "loading" && contractId && !contract.data && <Loading what="the contract" />}
      {contract.state === "error" && <ErrorNote error={contract.error} onRetry={contract.reload} />}
      {contract.data && (
        <section className="card">
          <div role="tablist" aria-label="Rental sections" className="tabs">
            {TABS.map(([id, label]) => (
              <button
                key={id}
                type="button"
                role="tab"
                id={`tab-${id}`}
                aria-selected={tab === id}
                aria-controls={`panel-${id}`}
                tabIndex={tab === id ? 0 : -1}
                className={tab === id ? "tab active" : "tab"}
                onClick={() => setTab(id)}
                onKeyDown={(event) => {
                  // The WAI-ARIA tabs pattern: arrows move between tabs, Home and End jump to the ends.
                  const index = TABS.findIndex(([t]) => t === id);
                  const next =
                    event.key === "ArrowRight" ? (index + 1) % TABS.length
                    : event.key === "ArrowLeft" ? (index - 1 + TABS.length) % TABS.length
                    : event.key === "Home" ? 0
                    : event.key === "End" ? TABS.length - 1
                    : null;
                  if (next === null) return;
                  event.preventDefault();
                  setTab(TABS[next][0]);
                  document.getElementById(`tab-${TABS[next][0]}`)?.focus();
                }}
              >
                {label}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {tab === "access" && <AccessRights contract={contract.data} domainId={domainId} onChanged={changed} />}
            {tab === "domain" && <DomainTab domainId={domainId} onChanged={changed} />}
            {tab === "hardware" && (
              <HardwareTab contractId={contract.data.id} domainId={domainId} onChanged={changed} />
            )}
            {tab === "software" && (
              <SoftwareTab contractId={contract.data.id} domainId={domainId} onChanged={changed} />
            )}
            {tab === "statement" && <StatementTab accountId={accountId} />}
            {tab === "contract" && <ContractTab contract={contract.data} onChanged={changed} />}
            {tab === "history" && <HistoryTab contractId={contract.data.id} />}
            {tab === "licences" && <LicencesTab domainIds={contract.data.domain_ids} />}
          </div>
        </section>
      )}
    </div>
  );
}
