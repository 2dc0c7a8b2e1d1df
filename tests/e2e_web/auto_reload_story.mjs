// Auto-iSC in the web app, in Debian's Chromium: the customer reads what it does, turns it on, and sees its state,
// the last reload and the next one expected. Usage and output as browser_story.mjs (one scenario per test).

import { DESKTOP, check, env, playScenario, screenshots, signIn, step } from "./common.mjs";

const shot = screenshots("");

const scenarios = {
  async customer_turns_on_auto_reload(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const card = page.getByTestId("auto-reload");
    await step("the Auto-iSC card explains itself in plain words", async () => {
      await signIn(page, { accountId: env("OWN_ACCOUNT_ID") });
      await card.waitFor();
      const text = await card.textContent();
      check(/tops up your credit by itself/i.test(text), `no plain explanation: ${text}`);
      check(/monthly limit/i.test(text), "the monthly limit is not explained");
      const state = (await card.getByTestId("auto-reload-state").textContent()).trim();
      check(state === "Switched off", `state shown: ${state}`);
    });
    await step("the customer turns it on and sees the next reload expected", async () => {
      await card.getByLabel("When this many weeks are left").fill("2");
      await card.getByLabel("load (iSC)").fill("10");
      await card.getByLabel("at most per month (iSC)").fill("30");
      await card.getByRole("button", { name: "Save" }).click();
      await card.getByTestId("auto-reload-state").filter({ hasText: /^On$/ }).waitFor();
      const next = (await card.getByTestId("auto-reload-next").textContent()).trim();
      check(/^expected on /.test(next), `next reload shown: ${next}`);
      check(!next.includes("{"), `raw JSON shown: ${next}`);
      const last = (await card.getByTestId("auto-reload-last").textContent()).trim();
      check(last === "None yet", `last reload shown: ${last}`);
      await card.scrollIntoViewIfNeeded();
      await shot(page, "customer-auto-reload-on");
    });
    await context.close();
  },
};

await playScenario(scenarios);
