// The guided first run: an account that does not rent anything yet sees the next step to take, with the
// step's own form right there, instead of empty tables.

import { useState, type ReactNode } from "react";

import { api } from "../../api/client";
import type { Account, Contract, Device, Domain, Gateway, HardwareItem, Page, Rental } from "../../api/types";
import { ErrorNote, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad, usePolling } from "../../components/useLoad";
import { toMicro } from "../../money";
import { Explain } from "../../components/Explain";
import { CreateDomainForm, GatewaysPanel, PhonesPanel } from "./DomainSetup";

interface Progress {
  contract: Contract | null;
  domain: Domain | null;
  gateways: Gateway[];
  devices: Device[];
  hardware: HardwareItem[];
}

async function progressOf(accountId: string, contractId: string | null, domainId: string | null): Promise<Progress> {
  const [contracts, domains] = await Promise.all([
    api.get<Page<Contract>>("contracts", `/contracts?account_id=${accountId}`),
    api.get<Page<Domain>>("provisioning", `/domains?account_id=${accountId}`),
  ]);
  const contract = contracts.items.find((c) => c.id === contractId) ?? contracts.items[0] ?? null;
  const domain = domains.items.find((d) => d.id === domainId) ?? domains.items[0] ?? null;
  const [gateways, devices, hardware] = await Promise.all([
    domain ? api.get<Page<Gateway>>("provisioning", `/domains/${domain.id}/gateways?limit=200`) : null,
    domain ? api.get<Page<Device>>("provisioning", `/domains/${domain.id}/devices?limit=200`) : null,
    contract ? api.get<Page<HardwareItem>>("contracts", `/contracts/${contract.id}/hardware`) : null,
  ]);
  return {
    contract,
    domain,
    gateways: gateways?.items ?? [],
    devices: devices?.items ?? [],
    hardware: hardware?.items ?? [],
  };
}

type StepId = "contract" | "domain" | "link" | "gateway" | "phone" | "credits" | "rent";

function Step(props: {
  id: StepId;
  number: number;
  title: string;
  done: boolean;
  ready: boolean;
  open: boolean;
  onOpen: (id: StepId) => void;
  summary?: ReactNode;
  children: ReactNode;
}) {
  const state = props.done ? "done" : props.ready ? "todo" : "waiting";
  return (
    <li className={`step ${state}${props.open ? " open" : ""}`} data-testid={`step-${props.id}`} data-state={state}>
      <button
        type="button"
        className="step-title"
        aria-expanded={props.open}
        aria-controls={`step-body-${props.id}`}
        onClick={() => props.onOpen(props.id)}
      >
        <span className="step-mark" aria-hidden="true">
          {props.done ? "✓" : props.number}
        </span>
        {props.title}
        <span className="visually-hidden">{props.done ? " (done)" : props.ready ? " (to do)" : " (not yet)"}</span>
      </button>
      {props.summary && !props.open && <div className="step-summary">{props.summary}</div>}
      {props.open && (
        <div id={`step-body-${props.id}`} className="step-body">
          {props.children}
        </div>
      )}
    </li>
  );
}

export function FirstRun(props: {
  accountId: string;
  account: Account | null;
  contractId: string | null;
  domainId: string | null;
  onContract: (id: string) => void;
  onDomain: (id: string) => void;
  onChanged: () => void;
}) {
  const progress = useLoad(
    () => progressOf(props.accountId, props.contractId, props.domainId),
    [props.accountId, props.contractId, props.domainId],
  );
  usePolling(progress.reload, 3000); // approvals, enrolments and gateways arrive from elsewhere
  const [chosen, setChosen] = useState<StepId | null>(null);
  const accept = useAction((id: string) => api.post<Contract>("contracts", `/contracts/${id}/acceptance`, {}));
  const link = useAction((contractId: string, domainId: string) =>
    api.post<Contract>("contracts", `/contracts/${contractId}/domains`, { domain_id: domainId }),
  );
  const rent = useAction((contractId: string, deviceId: string) =>
    api.post<Rental>("contracts", `/contracts/${contractId}/rentals`, { device_id: deviceId }),
  );
  const data = progress.data;
  if (!data) return progress.state === "error" ? <ErrorNote error={progress.error} onRetry={progress.reload} /> : null;

  function changed() {
    progress.reload();
    props.onChanged();
  }
  const { contract, domain } = data;
  const active = contract !== null && (contract.status === "active" || contract.status === "suspended");
  const linked = contract !== null && domain !== null && contract.domain_ids.includes(domain.id);
  const funded = props.account !== null && toMicro(props.account.balance) > 0n;
  const renting = data.hardware.some((h) => h.rental_id);
  const rentable = data.hardware.filter((h) => h.rentable && !h.rental_id);
  const steps: { id: StepId; done: boolean; ready: boolean }[] = [
    { id: "contract", done: active, ready: contract?.status === "draft" },
    { id: "domain", done: domain !== null, ready: true },
    { id: "link", done: linked, ready: contract !== null && domain !== null },
    { id: "gateway", done: data.gateways.length > 0, ready: domain !== null },
    { id: "phone", done: data.devices.length > 0, ready: domain !== null },
    { id: "credits", done: funded, ready: true },
    { id: "rent", done: renting, ready: active && linked && funded && rentable.length > 0 },
  ];
  if (renting && steps.every((s) => s.done)) {
    return (
      <Success>
        All set: your rental runs, and your gateways enforce it. The tabs below show the details.
      </Success>
    );
  }
  const next = steps.find((s) => !s.done && s.ready) ?? steps.find((s) => !s.done);
  // The next step is open, unless the person opened another one (done ones too, to look at them again).
  const open = chosen ?? next?.id ?? null;
  const stepProps = (id: StepId) => {
    const index = steps.findIndex((s) => s.id === id);
    return {
      id,
      number: index + 1,
      done: steps[index].done,
      ready: steps[index].ready,
      open: open === id,
      onOpen: (picked: StepId) => setChosen(picked === open ? null : picked),
    };
  };

  return (
    <section className="card first-run" aria-labelledby="first-run-title" data-testid="first-run">
      <h2 id="first-run-title">Get started</h2>
      <Explain>From an empty account to a rented phone in seven steps; the next one is open below.</Explain>
      <ol className="steps">
        <Step
          {...stepProps("contract")}
          title="Your rental contract"
          summary={contract ? `Contract ${contract.id.slice(0, 8)}: ${contract.status.replace("_", " ")}` : null}
        >
          <Explain>The contract says what you rent and at which price; your partner opens it, you accept it.</Explain>
          {!contract && <p>Your partner opens a rental contract for your account; it shows up here by itself.</p>}
          {contract?.status === "draft" && (
            <button
              type="button"
              disabled={accept.busy}
              onClick={async () => {
                if (await accept.run(contract.id)) {
                  props.onContract(contract.id);
                  changed();
                }
              }}
            >
              Accept the contract
            </button>
          )}
          {contract?.status === "pending_approval" && (
            <p role="status">Accepted by you; the vendor approves it next (this page notices by itself).</p>
          )}
          {accept.error && <ErrorNote error={accept.error} />}
        </Step>
        <Step {...stepProps("domain")} title="Create your PBX domain" summary={domain?.name}>
          <CreateDomainForm
            accountId={props.accountId}
            onCreated={(created) => {
              props.onDomain(created.id);
              changed();
            }}
          />
        </Step>
        <Step {...stepProps("link")} title="Link the domain to the contract" summary={linked ? "Linked" : null}>
          <Explain>Linking gives the domain access rights: its phones become rentable under the contract.</Explain>
          {contract && domain ? (
            <button
              type="button"
              disabled={link.busy}
              onClick={async () => {
                if (await link.run(contract.id, domain.id)) changed();
              }}
            >
              Link {domain.name} to the contract
            </button>
          ) : (
            <p>First a contract and a domain.</p>
          )}
          {link.error && <ErrorNote error={link.error} />}
        </Step>
        <Step
          {...stepProps("gateway")}
          title="Add a gateway"
          summary={data.gateways.length ? `${data.gateways.length} registered` : null}
        >
          {domain ? <GatewaysPanel domainId={domain.id} onChanged={changed} /> : <p>First a domain.</p>}
        </Step>
        <Step
          {...stepProps("phone")}
          title="Enrol a phone"
          summary={data.devices.length ? `${data.devices.length} enrolled` : null}
        >
          {domain ? <PhonesPanel domainId={domain.id} onChanged={changed} /> : <p>First a domain.</p>}
        </Step>
        <Step {...stepProps("credits")} title="Add credits" summary={funded ? "Credits loaded" : null}>
          <Explain>Rentals burn prepaid iSC: enter an activation key from your partner in Load credits above.</Explain>
        </Step>
        <Step {...stepProps("rent")} title="Rent a phone">
          <Explain>Renting starts the burn; the gateway lets the phone run for as long as your credits last.</Explain>
          {rentable.length === 0 && <p>Your enrolled phones appear here once the contract, domain and credits are there.</p>}
          <ul className="rows">
            {rentable.map((item) => (
              <li key={item.device_id} className="row">
                <span>
                  <code>{item.hwid}</code> {item.product}
                </span>
                <button
                  type="button"
                  disabled={rent.busy || !(active && linked && funded)}
                  aria-label={`Rent ${item.product} ${item.hwid}`}
                  onClick={async () => {
                    if (contract && (await rent.run(contract.id, item.device_id))) changed();
                  }}
                >
                  Rent
                </button>
              </li>
            ))}
          </ul>
          {rent.error && <ErrorNote error={rent.error} />}
        </Step>
      </ol>
    </section>
  );
}
