// Drives Debian's Chromium with playwright-core through the web app, as a person would.
// Usage: node browser_story.mjs <scenario>; settings come from the environment (see the pytest module).
// Prints one line per step ("STEP ok <name>"), saves a screenshot of every main screen under ARTIFACTS,
// and exits non-zero with a screenshot of the failing page when a step fails.

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const require = createRequire(join(env("SPA_DIR"), "package.json"));
const { chromium } = require("playwright-core");

const BFF = env("BFF_URL");
const ARTIFACTS = env("ARTIFACTS");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
mkdirSync(ARTIFACTS, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function step(name, body) {
  await body();
  console.log(`STEP ok ${name}`);
}

/** Through the real OIDC flow: the app's Sign in → the provider's picker → back, signed in. */
async function signIn(page, { user, accountId }) {
  await page.goto(BFF);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/authorize\?/);
  if (user === "customer") {
    await page.getByLabel("Account id").fill(accountId);
    await page.getByRole("button", { name: "Sign in as this account's customer" }).click();
  } else {
    await page.getByRole("button", { name: new RegExp(`\\(${user}\\)`) }).click();
  }
  await page.waitForURL((url) => url.toString().startsWith(BFF));
  await page.getByTestId("signed-in-as").waitFor();
}

const scenarios = {
  async partner_issues_keys(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await step("partner signs in through the provider", async () => {
      await signIn(page, { user: "partner" });
      await page.getByRole("heading", { name: "Partner" }).waitFor();
      await shot(page, "partner-home");
    });
    let accountId;
    await step("partner opens a customer account", async () => {
      await page.getByLabel("Customer name").fill("Browser Test GmbH");
      await page.getByRole("button", { name: "Open account" }).click();
      accountId = (await page.getByTestId("new-account-id").textContent()).trim();
      check(/^[0-9a-f-]{36}$/.test(accountId), `no account id shown: ${accountId}`);
      console.log(`ACCOUNT ${accountId}`);
    });
    await step("partner issues a key batch whose codes are shown once", async () => {
      await page.getByLabel("Credits per key (iSC)").fill("25");
      await page.getByLabel("Number of keys").fill("3");
      await page.getByRole("button", { name: "Issue keys" }).click();
      const keys = page.getByTestId("issued-keys");
      await keys.waitFor({ timeout: 15000 });
      const codes = await keys.locator(".key-code").allTextContents();
      check(codes.length === 3, `expected 3 codes, saw ${codes.length}`);
      await keys.getByText("shown only once").waitFor();
      const download = page.waitForEvent("download");
      await keys.getByRole("button", { name: "Download as CSV" }).click();
      const file = await download;
      check(file.suggestedFilename().endsWith(".csv"), `download is not a CSV: ${file.suggestedFilename()}`);
      await shot(page, "partner-keys-issued");
      console.log(`KEYS ${codes.join(",")}`);
    });
    await context.close();
  },

  async customer_sees_own_account(browser) {
    const accountId = env("OWN_ACCOUNT_ID");
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await step("customer signs in and sees their own account", async () => {
      await signIn(page, { user: "customer", accountId });
      await page.getByRole("heading", { name: "Rental" }).waitFor();
      const name = await page.getByTestId("account-name").textContent();
      check(name === env("OWN_ACCOUNT_NAME"), `account name shown: ${name}`);
      await shot(page, "customer-rental-overview-phone");
    });
    await step("the page fits a phone's width", async () => {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    });
    await step("the session cookie cannot be read by scripts", async () => {
      const cookies = await page.evaluate(() => document.cookie);
      check(!cookies.includes("rental_session"), "the session cookie is visible to scripts");
    });
    await context.close();
  },

  async customer_cannot_reach_another_account(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, { user: "customer", accountId: env("OWN_ACCOUNT_ID") });
    await step("another account's data answers 404 through the app's own API", async () => {
      const answer = await page.evaluate(async (other) => {
        const response = await fetch(`/api/wallet/v1/accounts/${other}`);
        return { status: response.status, body: await response.text() };
      }, env("OTHER_ACCOUNT_ID"));
      check(answer.status === 404, `status ${answer.status}`);
      check(!answer.body.includes(env("OTHER_ACCOUNT_NAME")), "the other account's name leaked");
    });
    await step("opening another account's address shows nothing of it", async () => {
      await page.goto(`${BFF}/api/wallet/v1/accounts/${env("OTHER_ACCOUNT_ID")}`);
      const text = await page.textContent("body");
      check(!text.includes(env("OTHER_ACCOUNT_NAME")), "the other account's name is on the page");
      await page.goto(BFF);
      const name = await page.getByTestId("account-name").textContent();
      check(name === env("OWN_ACCOUNT_NAME"), `the rental view shows ${name}`);
      await shot(page, "customer-only-own-account");
    });
    await context.close();
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  await scenarios[name](browser);
  console.log(`SCENARIO passed ${name}`);
} catch (error) {
  console.error(`SCENARIO failed ${name}: ${error.stack ?? error}`);
  for (const context of browser.contexts()) {
    for (const [index, page] of context.pages().entries()) {
      await page.screenshot({ path: join(ARTIFACTS, `FAILED-${name}-${index}.png`), fullPage: true }).catch(() => {});
    }
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
