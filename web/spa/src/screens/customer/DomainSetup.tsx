// The customer's own onboarding steps, each a click: create the PBX domain, register its gateways (pasting the
// gateway's identity, the simulator's `init` output as it is), create provisioning codes and watch phones enrol.

import { useEffect, useRef, useState, type FormEvent } from "react";

import { api } from "../../api/client";
import type {
  Device,
  Domain,
  DomainLicences,
  Gateway,
  Page,
  ProvisioningCodeIssued,
  ProvisioningCodeRead,
} from "../../api/types";
import { Explain } from "../../components/Explain";
import { Empty, ErrorNote, Loading, Success } from "../../components/Status";
import { useAction } from "../../components/useAction";
import { useLoad, usePolling } from "../../components/useLoad";
import { formatInstant, timeLeft } from "../../money";
import { identityProblem, parseGatewayIdentities, type GatewayIdentity } from "../../onboarding/gatewayIdentity";


export function CreateDomainForm(props: { accountId: string; onCreated: (domain: Domain) => void }) {
  const [name, setName] = useState("");
  const create = useAction((domainName: string) =>
    api.post<Domain>("provisioning", "/domains", { account_id: props.accountId, name: domainName }),
  );
  async function submit(event: FormEvent) {
    event.preventDefault();
    const domain = await create.run(name.trim());
    if (domain) {
      setName("");
      props.onCreated(domain);
    }
  }
  return (
    <div>
      <Explain>Your PBX domain holds your gateways and phones; the rental contract gives it access rights.</Explain>
      <form className="inline" onSubmit={submit}>
        <label htmlFor="new-domain-name">Domain name</label>
        <input
          id="new-domain-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={200}
          placeholder="pbx.example.com"
        />
        <button type="submit" disabled={create.busy}>
          {create.busy ? "Creating…" : "Create domain"}
        </button>
      </form>
      {create.error && <ErrorNote error={create.error} />}
    </div>
  );
}

function GatewayList({ domainId, gateways }: { domainId: string; gateways: Gateway[] }) {
  const licences = useLoad(() => api.get<DomainLicences>("licensing", `/domains/${domainId}/licences`), [domainId]);
  usePolling(licences.reload, 3000);
  const online = new Map((licences.data?.gateways ?? []).map((g) => [g.hwid, g.online]));
  return (
    <ul className="rows" aria-label="Registered gateways">
      {gateways.map((gateway) => (
        <li key={gateway.id} className="row" data-testid={`registered-gateway-${gateway.hwid}`}>
          <span>
            <code>{gateway.hwid}</code> {gateway.product}
          </span>
          <span>
            <span className={online.get(gateway.hwid) ? "dot online" : "dot offline"} aria-hidden="true" />
            {online.get(gateway.hwid) ? "Online" : "Not connected yet"}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function GatewaysPanel(props: { domainId: string; onChanged?: () => void }) {
  const gateways = useLoad(
    () => api.get<Page<Gateway>>("provisioning", `/domains/${props.domainId}/gateways?limit=200`),
    [props.domainId],
  );
  const [pasted, setPasted] = useState("");
  const [hwid, setHwid] = useState("");
  const [publicKey, setPublicKey] = useState("");
  const [product, setProduct] = useState("");
  const parsed = parseGatewayIdentities(pasted);
  const register = useAction(async (identities: GatewayIdentity[]) => {
    const done: Gateway[] = [];
    for (const identity of identities) {
      done.push(
        await api.post<Gateway>("provisioning", `/domains/${props.domainId}/gateways`, {
          hwid: identity.hwid,
          public_key: identity.public_key,
          product: identity.product ?? product.trim(),
        }),
      );
    }
    return done;
  });

  function onPaste(text: string) {
    setPasted(text);
    const [first, ...more] = parseGatewayIdentities(text);
    if (first && more.length === 0) {
      setHwid(first.hwid);
      setPublicKey(first.public_key);
      if (first.product) setProduct(first.product);
    }
  }

  const several = parsed.length > 1;
  const single: GatewayIdentity = { hwid: hwid.trim(), public_key: publicKey.trim(), product: product.trim() || null };
  const toRegister = several ? parsed : [single];
  const problem = several ? null : identityProblem(single) ?? (single.product ? null : "Give the gateway's model.");

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (problem) return;
    if (await register.run(toRegister)) {
      setPasted("");
      setHwid("");
      setPublicKey("");
      gateways.reload();
      props.onChanged?.();
    }
  }

  const items = gateways.data?.items ?? [];
  return (
    <section aria-labelledby="gateways-title">
      <h3 id="gateways-title">Gateways</h3>
      <Explain>
        A gateway enforces your licence bundle for the phones behind it: register it by its hardware id and public key.
      </Explain>
      {gateways.state === "loading" && !gateways.data && <Loading what="gateways" />}
      {gateways.state === "error" && <ErrorNote error={gateways.error} onRetry={gateways.reload} />}
      {gateways.state === "ready" && items.length === 0 && <Empty>No gateway is registered in this domain yet.</Empty>}
      {items.length > 0 && <GatewayList domainId={props.domainId} gateways={items} />}
      <form className="stack" onSubmit={submit} aria-label="Add a gateway">
        <label htmlFor="gateway-paste">Paste the gateway's identity</label>
        <textarea
          id="gateway-paste"
          rows={3}
          value={pasted}
          onChange={(e) => onPaste(e.target.value)}
          placeholder='The gateway simulator&apos;s init output as it is, or "hardware id  public key"'
        />
        {several ? (
          <p role="status">{parsed.length} gateways found in what you pasted; all of them will be registered.</p>
        ) : (
          <>
            <label htmlFor="gateway-hwid">Hardware id</label>
            <input id="gateway-hwid" value={hwid} onChange={(e) => setHwid(e.target.value)} placeholder="0004f2a1b2c3" />
            <label htmlFor="gateway-key">Public key</label>
            <input id="gateway-key" value={publicKey} onChange={(e) => setPublicKey(e.target.value)} autoComplete="off" />
            <label htmlFor="gateway-product">Model</label>
            <input id="gateway-product" value={product} onChange={(e) => setProduct(e.target.value)} placeholder="GW-SIM-1" />
          </>
        )}
        {problem && (hwid || publicKey || pasted) && <p className="hint">{problem}</p>}
        <button type="submit" disabled={register.busy || problem !== null}>
          {register.busy ? "Registering…" : several ? `Register ${parsed.length} gateways` : "Register gateway"}
        </button>
      </form>
      {register.error && <ErrorNote error={register.error} />}
      {register.result && (
        <Success>
          Registered {register.result.map((g) => g.hwid).join(", ")}. It connects by itself; its licence bundle follows.
        </Success>
      )}
    </section>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <>
      <button
        type="button"
        className="secondary"
        aria-label={label}
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setState("copied");
          } catch {
            setState("failed");
          }
        }}
      >
        Copy
      </button>
      {state === "copied" && <span role="status">Copied.</span>}
      {state === "failed" && <span role="status">Select the code and copy it by hand.</span>}
    </>
  );
}

const VALIDITY = [
  ["3600", "1 hour"],
  ["86400", "24 hours"],
  ["604800", "7 days"],
] as const;

export function PhonesPanel(props: { domainId: string; onChanged?: () => void }) {
  const devices = useLoad(
    () => api.get<Page<Device>>("provisioning", `/domains/${props.domainId}/devices?limit=200`),
    [props.domainId],
  );
  usePolling(devices.reload, 3000); // phones appear here as they enrol
  const codes = useLoad(
    () => api.get<Page<ProvisioningCodeRead>>("provisioning", `/domains/${props.domainId}/provisioning-codes?limit=20`),
    [props.domainId],
  );
  const [uses, setUses] = useState("1");
  const [validFor, setValidFor] = useState("86400");
  const issue = useAction(() =>
    api.post<ProvisioningCodeIssued>("provisioning", `/domains/${props.domainId}/provisioning-codes`, {
      max_uses: Number(uses),
      valid_for_s: Number(validFor),
    }),
  );
  const seen = devices.data?.items.length ?? null;
  const onChanged = props.onChanged;
  const known = useRef<number | null>(null);
  useEffect(() => {
    // A phone enrolled: tell the rest of the view (its hardware list and the guided steps).
    if (seen !== null && known.current !== null && seen > known.current) onChanged?.();
    if (seen !== null) known.current = seen;
  }, [seen, onChanged]);
  const items = devices.data?.items ?? [];
  const live = (codes.data?.items ?? []).filter((c) => !c.revoked_at && c.uses < c.max_uses);
  return (
    <section aria-labelledby="phones-title">
      <h3 id="phones-title">Phones</h3>
      <Explain>Phones join your domain with a provisioning code typed on the phone; each appears here once it enrols.</Explain>
      <form
        className="inline"
        aria-label="Create a provisioning code"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await issue.run()) codes.reload();
        }}
      >
        <label htmlFor="code-uses">Phones this code may enrol</label>
        <input id="code-uses" type="number" min={1} max={1000} value={uses} onChange={(e) => setUses(e.target.value)} />
        <label htmlFor="code-validity">Valid for</label>
        <select id="code-validity" value={validFor} onChange={(e) => setValidFor(e.target.value)}>
          {VALIDITY.map(([seconds, text]) => (
            <option key={seconds} value={seconds}>
              {text}
            </option>
          ))}
        </select>
        <button type="submit" disabled={issue.busy}>
          {issue.busy ? "Creating…" : "Create provisioning code"}
        </button>
      </form>
      {issue.error && <ErrorNote error={issue.error} />}
      {issue.result && (
        <div className="code-box" data-testid="new-provisioning-code">
          <p>
            Type this code on the phone (shown only now):{" "}
            <strong className="key-code" data-testid="issued-code">
              {issue.result.code}
            </strong>{" "}
            <CopyButton text={issue.result.code} label="Copy the provisioning code" />
          </p>
          <p data-testid="provisioning-code-expiry">
            Expires {formatInstant(issue.result.expires_at)} (in {timeLeft(issue.result.expires_at, Date.now())}); enrols up
            to {issue.result.max_uses} {issue.result.max_uses === 1 ? "phone" : "phones"}.
          </p>
        </div>
      )}
      {live.length > 0 && (
        <table>
          <caption>Open provisioning codes</caption>
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Expires</th>
              <th scope="col">Used</th>
            </tr>
          </thead>
          <tbody>
            {live.map((code) => (
              <tr key={code.id}>
                <td>…{code.hint}</td>
                <td>{formatInstant(code.expires_at)}</td>
                <td>
                  {code.uses} of {code.max_uses}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {devices.state === "loading" && !devices.data && <Loading what="phones" />}
      {devices.state === "error" && <ErrorNote error={devices.error} onRetry={devices.reload} />}
      {devices.data && items.length === 0 && (
        <Empty>No phone has enrolled yet. Create a code, type it on the phone; it shows up here by itself.</Empty>
      )}
      {items.length > 0 && (
        <table>
          <caption>Enrolled devices</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Model</th>
              <th scope="col" className="wide-only">
                Enrolled
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((device) => (
              <tr key={device.id} data-testid={`device-${device.hwid}`}>
                <td>
                  <code>{device.hwid}</code>
                </td>
                <td>{device.product}</td>
                <td className="wide-only">{formatInstant(device.provisioned_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The "Gateways & phones" tab: both panels for the chosen domain. */
export function DomainTab(props: { domainId: string | null; onChanged: () => void }) {
  if (!props.domainId) return <Empty>Choose or create a domain above first.</Empty>;
  return (
    <section aria-labelledby="domain-setup-title">
      <h2 id="domain-setup-title">Gateways &amp; phones</h2>
      <GatewaysPanel domainId={props.domainId} onChanged={props.onChanged} />
      <PhonesPanel domainId={props.domainId} onChanged={props.onChanged} />
    </section>
  );
}
