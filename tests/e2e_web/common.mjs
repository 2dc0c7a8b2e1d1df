// What both browser stories (browser_story.mjs, demo_story.mjs) are made of: settings from the environment,
// steps that print "STEP ok <name>", screenshots under ARTIFACTS, the real OIDC sign-in, waits for conditions
// with deadlines, and the run of one scenario in Debian's Chromium (driven by playwright-core), with a screenshot
// of every open page when it fails.

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const require = createRequire(join(env("SPA_DIR"), "package.json"));
const { chromium } = require("playwright-core");

export const BFF = env("BFF_URL");
export const ARTIFACTS = env("ARTIFACTS");
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };
mkdirSync(ARTIFACTS, { recursive: true });

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** A `shot(page, name)` that saves a full-page screenshot as ARTIFACTS/<prefix><name>.png. */
export function screenshots(prefix) {
  return async (page, name) => {
    await page.screenshot({ path: join(ARTIFACTS, `${prefix}${name}.png`), fullPage: true });
  };
}

export async function step(name, body) {
  const started = Date.now();
  await body();
  // How long each step took, so a slow run says where its time went.
  console.log(`STEP ok ${name} (${Date.now() - started} ms)`);
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `within` ms (a deadline, no fixed sleep). */
export async function eventually(what, probe, { within = 30000, every = 300 } = {}) {
  const deadline = Date.now() + within;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${within} ms (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/**
 * Through the real OIDC flow: the app's Sign in → the provider's picker → back, signed in; as a demo customer by
 * name (`demoName`), as the customer of a typed account id (`accountId`), or as a staff user (`staff`: partner,
 * operator).
 */
export async function signIn(page, { staff, demoName, accountId }) {
  await page.goto(BFF);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/authorize\?/);
  if (demoName) {
    await page.getByRole("group", { name: "Demo customers" }).getByRole("button", { name: demoName, exact: true }).click();
  } else if (accountId) {
    await page.getByLabel("Account id").fill(accountId);
    await page.getByRole("button", { name: "Sign in as this account's customer" }).click();
  } else {
    await page.getByRole("button", { name: new RegExp(`\\(${staff}\\)`) }).click();
  }
  await page.waitForURL((url) => url.toString().startsWith(BFF));
  await page.getByTestId("signed-in-as").waitFor();
}

/** The number an amount of the page shows ("1,000.00", "864.00 iSC per day"). */
export function balanceOf(text) {
  return Number.parseFloat(text.replaceAll(",", ""));
}

export async function openTab(page, name) {
  await page.getByRole("tab", { name }).click();
  await page.getByRole("heading", { level: 2, name, exact: true }).waitFor();
}

/**
 * Plays the scenario named by the command line (node <story>.mjs <scenario>) in a fresh headless Chromium;
 * prints "SCENARIO passed <name>", or saves ARTIFACTS/FAILED-<failedPrefix><name>-<n>.png of every page and exits
 * non-zero.
 */
export async function playScenario(scenarios, { failedPrefix = "" } = {}) {
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
        await page
          .screenshot({ path: join(ARTIFACTS, `FAILED-${failedPrefix}${name}-${index}.png`), fullPage: true })
          .catch(() => {});
      }
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
