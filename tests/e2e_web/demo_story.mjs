// The first five minutes (issue 21) in Debian's Chromium, driven by playwright-core, as a person would:
//   demo_tenant_burning      the seeded Demo GmbH, signed in by name: burning, gateways online, bundle current
//   new_customer_by_clicks   partner, operator and a new customer take every onboarding step by clicks; the
//                            only other actor is the gateway simulator, doing what the hardware does
// Usage: node demo_story.mjs <scenario>; settings from the environment (see test_demo_onboarding.py).
// Prints "STEP ok <name>" per step, saves a screenshot of every step under ARTIFACTS (demo-*.png), and exits
// non-zero with a screenshot of the failing page when a step fails. Waits are for conditions, with deadlines.

import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { BFF, DESKTOP, balanceOf, check, env, eventually, openTab, playScenario, screenshots, signIn, step } from "./common.mjs";

const shot = screenshots("demo-");

/** Every gateway of the Licences tab online, each holding (acknowledged) the current seq. */
async function gatewaysOnlineAndCurrent(page, hwids) {
  for (const hwid of hwids) {
    const row = page.getByTestId(`gateway-${hwid}`);
    if (!(await row.isVisible())) return false;
    if (!(await row.getByText("Online").isVisible())) return false;
    const cells = await row.locator("td").allTextContents();
    const [current, acknowledged] = [Number(cells[2]), Number(cells[3])];
    if (!(current > 0 && acknowledged === current)) return false;
  }
  return true;
}

const scenarios = {
  async demo_tenant_burning(browser) {
    const gateways = env("DEMO_GATEWAYS").split(",");
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await step("the sign-in picker offers the demo customers by name", async () => {
      await page.goto(BFF);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/authorize\?/);
      const demo = page.getByRole("group", { name: "Demo customers" });
      for (const name of env("DEMO_NAMES").split(",")) await demo.getByRole("button", { name, exact: true }).waitFor();
      await page.getByRole("group", { name: "Customer of an account id" }).waitFor();
      await shot(page, "01-sign-in-picker");
    });
    await step("Demo GmbH's rental view burns", async () => {
      await signIn(page, { demoName: "Demo GmbH" });
      await page.getByTestId("account-name").getByText("Demo GmbH").waitFor();
      await eventually("a burn rate is shown", async () =>
        balanceOf(await page.getByTestId("burn-rate").textContent()) > 0,
      );
      const first = balanceOf(await page.getByTestId("balance").textContent());
      await eventually("the balance counts down", async () =>
        balanceOf(await page.getByTestId("balance").textContent()) < first,
      );
      await page.getByText("All set: your rental runs").waitFor();
      await shot(page, "02-demo-gmbh-burning");
    });
    await step("its gateways are online and hold the current licence bundle", async () => {
      await openTab(page, "Licences");
      await eventually("every gateway online, acknowledged seq = current seq", () => gatewaysOnlineAndCurrent(page, gateways), {
        within: 45000,
      });
      const expiry = await page.getByTestId("bundle-expiry").textContent();
      check(expiry.startsWith("expires"), `the bundle has no expiry: ${expiry}`);
      await shot(page, "03-demo-gmbh-licences");
    });
    await step("the near-run-out account shows its warning", async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("button", { name: "Sign in" }).waitFor();
      await signIn(page, { demoName: "Kurz & Knapp KG" });
      await page.getByRole("alert").getByText(/run out within a week|balance is empty/).waitFor();
      await shot(page, "04-kurz-knapp-near-run-out");
    });
    await context.close();
  },

  async new_customer_by_clicks(browser) {
    const [gatewayHwid, phoneHwid, phoneProduct] = [env("GATEWAY_HWID"), env("PHONE_HWID"), env("PHONE_PRODUCT")];
    const customerName = env("CUSTOMER_NAME");
    const partnerContext = await browser.newContext({ viewport: DESKTOP });
    const partner = await partnerContext.newPage();
    const operatorContext = await browser.newContext({ viewport: DESKTOP });
    const operator = await operatorContext.newPage();
    const customerContext = await browser.newContext({
      viewport: DESKTOP,
      permissions: ["clipboard-read", "clipboard-write"],
    });
    const page = await customerContext.newPage();

    let accountId, keyCode;
    await step("partner opens the account and its contract", async () => {
      await signIn(partner, { staff: "partner" });
      await partner.getByLabel("Customer name").fill(customerName);
      await partner.getByRole("button", { name: "Open account" }).click();
      accountId = (await partner.getByTestId("new-account-id").textContent()).trim();
      await partner.getByRole("button", { name: `Open a rental contract for ${customerName}` }).click();
      await partner.getByTestId("new-contract-id").waitFor();
      await shot(partner, "10-partner-account-and-contract");
    });
    await step("partner sells a key", async () => {
      await partner.getByLabel("Credits per key (iSC)").fill("100");
      await partner.getByLabel("Number of keys").fill("1");
      await partner.getByRole("button", { name: "Issue keys" }).click();
      keyCode = (await partner.getByTestId("issued-keys").locator(".key-code").first().textContent()).trim();
      await shot(partner, "11-partner-key-sold");
    });
    await step("partner sees the new customer among its customers", async () => {
      const row = partner.getByTestId(`customer-${accountId}`);
      await row.getByText(customerName).waitFor();
      await row.getByText("draft").waitFor();
      await row.scrollIntoViewIfNeeded();
      await shot(partner, "12-partner-customers");
    });

    await step("the new customer's empty account shows the first step instead of empty tables", async () => {
      await signIn(page, { accountId });
      const guide = page.getByTestId("first-run");
      await guide.getByRole("heading", { name: "Get started" }).waitFor();
      await guide.getByRole("button", { name: "Accept the contract" }).waitFor();
      await shot(page, "13-customer-first-run");
    });
    await step("customer accepts the contract", async () => {
      await page.getByRole("button", { name: "Accept the contract" }).click();
      // The contract waits for the vendor; the guide moves on to the next step meanwhile.
      await page.getByTestId("step-contract").getByText("pending approval").waitFor();
    });
    await step("operator sets the new phone model's tariff", async () => {
      await signIn(operator, { staff: "operator" });
      await operator.getByLabel("Device model").fill(phoneProduct);
      await operator.getByLabel("Rate (iSC per day)").fill("48");
      await operator.getByRole("button", { name: "Save tariff" }).click();
      await operator.getByText(`${phoneProduct} now costs 48 iSC per day`).waitFor();
      await operator.getByTestId(`tariff-${phoneProduct}`).waitFor();
      await shot(operator, "14-operator-tariffs");
    });
    await step("operator approves the contract from the list", async () => {
      const approve = operator.getByRole("button", { name: `Approve the contract of ${customerName}` });
      await eventually("the accepted contract is listed for approval", () => approve.isVisible(), { every: 500 });
      await shot(operator, "15-operator-contract-to-approve");
      await approve.click();
      await operator.getByText(/approved: it is now active/).waitFor();
    });

    const guide = page.getByTestId("first-run");
    await step("customer creates a domain", async () => {
      await guide.getByTestId("step-contract").and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
      await page.getByLabel("Domain name").fill(env("DOMAIN_NAME"));
      await page.getByRole("button", { name: "Create domain" }).click();
      await guide.getByTestId("step-domain").and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
      await shot(page, "16-customer-domain-created");
    });
    await step("customer links the domain to the contract", async () => {
      await page.getByRole("button", { name: `Link ${env("DOMAIN_NAME")} to the contract` }).click();
      await guide.getByTestId("step-link").and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
    });
    await step("customer registers the gateway by pasting the simulator's init output as it is", async () => {
      await page.getByLabel("Paste the gateway's identity").fill(env("GATEWAY_INIT_OUTPUT"));
      check((await page.getByLabel("Hardware id").inputValue()) === gatewayHwid, "the hardware id was not read");
      await shot(page, "17-customer-gateway-pasted");
      await page.getByRole("button", { name: "Register gateway" }).click();
      await page.getByText(`Registered ${gatewayHwid}`).waitFor();
    });
    await step("the running simulator picks the gateway up: it shows online, with no restart", async () => {
      await guide.getByTestId("step-gateway").and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
      await openTab(page, "Gateways & phones");
      const row = page.getByRole("tabpanel").getByTestId(`registered-gateway-${gatewayHwid}`);
      await eventually("the gateway is online", () => row.getByText("Online").isVisible(), { within: 45000 });
      await row.scrollIntoViewIfNeeded();
      await shot(page, "18-customer-gateway-online");
    });
    await step("customer creates a provisioning code, copies it, and sees its expiry", async () => {
      await guide.getByTestId("step-phone").getByRole("button", { name: /Enrol a phone/ }).waitFor();
      await guide.getByRole("button", { name: "Create provisioning code" }).click();
      const code = (await guide.getByTestId("issued-code").textContent()).trim();
      const expiry = await guide.getByTestId("provisioning-code-expiry").textContent();
      check(/^Expires .+ \(in /.test(expiry), `no expiry shown: ${expiry}`);
      await guide.getByRole("button", { name: "Copy the provisioning code" }).click();
      await guide.getByText("Copied.").waitFor();
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      check(copied === code, `the clipboard holds ${copied}, not ${code}`);
      await shot(page, "19-customer-provisioning-code");
      // The phone's user types the code: the simulator enrols the gateway's phone with it, as the phone does.
      const { stdout } = await promisify(execFile)(env("SIMULATOR_PYTHON"), [
        "-m", "gateway_simulator", "--state-dir", env("NEW_STATE_DIR"), "enrol",
        "--provisioning", env("PROVISIONING_URL"), "--code", copied,
      ]);
      check(stdout.includes(phoneHwid), `the simulator did not enrol ${phoneHwid}: ${stdout}`);
    });
    await step("the phone appears as it enrols", async () => {
      await guide.getByTestId("step-phone").and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
      await page.getByRole("tabpanel").getByTestId(`device-${phoneHwid}`).waitFor({ timeout: 20000 });
      await shot(page, "20-customer-phone-enrolled");
    });
    await step("customer loads the key", async () => {
      await page.getByLabel("Activation key").fill(keyCode);
      await page.getByRole("button", { name: "Load credits", exact: true }).click();
      await page.getByText("100.00 iSC loaded").waitFor();
      await guide.getByTestId("step-credits").and(page.locator('[data-state="done"]')).waitFor({ timeout: 20000 });
    });
    await step("customer rents the phone", async () => {
      const rent = page.getByRole("button", { name: `Rent ${phoneProduct} ${phoneHwid}` });
      await rent.waitFor({ timeout: 20000 });
      await shot(page, "21-customer-ready-to-rent");
      await rent.click();
      await page.getByText("All set: your rental runs").waitFor({ timeout: 20000 });
      await eventually("the balance burns at the phone's rate", async () => {
        await page.reload();
        return (await page.getByTestId("burn-rate").textContent()).startsWith("48.00");
      }, { every: 700 });
      await shot(page, "22-customer-renting");
    });
    await step("the gateway holds the new bundle with the rented phone", async () => {
      await openTab(page, "Licences");
      await eventually("the gateway online with the current seq", () => gatewaysOnlineAndCurrent(page, [gatewayHwid]), {
        within: 45000,
      });
      await page.getByText("1 rented devices").waitFor();
      await shot(page, "23-customer-licences");
    });
    for (const context of [partnerContext, operatorContext, customerContext]) await context.close();
  },
};

await playScenario(scenarios, { failedPrefix: "demo-" });
