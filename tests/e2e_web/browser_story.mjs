// Drives Debian's Chromium with playwright-core through the web app, as a person would.
// Usage: node browser_story.mjs <scenario>; settings come from the environment (see the pytest module).
// Prints one line per step ("STEP ok <name>"), saves a screenshot of every main screen under ARTIFACTS,
// and exits non-zero with a screenshot of the failing page when a step fails.

import { BFF, DESKTOP, PHONE, balanceOf, check, env, eventually, openTab, playScenario, screenshots, signIn, step } from "./common.mjs";

const shot = screenshots("");

async function freshTab(page, name) {
  // Another tab and back: the tab loads its data again from the services.
  await page.getByRole("tab", { name: name === "History" ? "Contract" : "History" }).click();
  await openTab(page, name);
}

async function gatewaySeq(page, gateway) {
  const cell = page.getByTestId(`gateway-${gateway}`).getByTestId("acknowledged-seq");
  return Number(await cell.textContent());
}

const scenarios = {
  async partner_issues_keys(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await step("partner signs in through the provider", async () => {
      await signIn(page, { staff: "partner" });
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
    await step("the partner's screen fits a phone's width", async () => {
      await page.setViewportSize(PHONE);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `the page is ${overflow}px wider than the phone`);
      await shot(page, "partner-keys-issued-phone");
    });
    await context.close();
  },

  async customer_sees_own_account(browser) {
    const accountId = env("OWN_ACCOUNT_ID");
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await step("customer signs in and sees their own account", async () => {
      await signIn(page, { accountId });
      await page.getByRole("heading", { name: "Rental" }).waitFor();
      const name = await page.getByTestId("account-name").textContent();
      check(name === env("OWN_ACCOUNT_NAME"), `account name shown: ${name}`);
      await shot(page, "customer-rental-overview-phone");
    });
    await step("a wrong activation key is explained in words, not JSON", async () => {
      await page.getByLabel("Activation key").fill("NOT-A-REAL-KEY");
      await page.getByRole("button", { name: "Load credits" }).click();
      const alert = page.getByRole("region", { name: "Load credits" }).getByRole("alert");
      await alert.waitFor();
      const text = (await alert.textContent()).trim();
      check(/activation key/i.test(text), `unexpected message: ${text}`);
      check(!text.includes("{") && !text.includes('"code"'), `raw JSON shown: ${text}`);
      await shot(page, "customer-wrong-key-phone");
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

  async customer_story(browser) {
    const [phone1, phone2, gateway] = [env("PHONE1_HWID"), env("PHONE2_HWID"), env("GATEWAY_HWID")];
    const product = env("PHONE_PRODUCT");
    const operatorContext = await browser.newContext({ viewport: DESKTOP });
    const operator = await operatorContext.newPage();
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();

    await step("operator sets the phone's tariff", async () => {
      await signIn(operator, { staff: "operator" });
      await operator.getByLabel("Device model").fill(product);
      await operator.getByLabel("Rate (iSC per day)").fill("864");
      await operator.getByRole("button", { name: "Save tariff" }).click();
      await operator.getByText(`${product} now costs 864 iSC per day`).waitFor();
      await shot(operator, "operator-tariff-set");
    });

    await step("customer signs in and loads a key", async () => {
      await signIn(page, { accountId: env("OWN_ACCOUNT_ID") });
      await page.getByLabel("Activation key").fill(env("KEY_CODE"));
      await page.getByRole("button", { name: "Load credits" }).click();
      await page.getByText("1,000.00 iSC loaded").waitFor();
      await eventually("the balance shows the loaded credits", async () =>
        balanceOf(await page.getByTestId("balance").textContent()) === 1000,
      );
    });

    await step("customer picks the domain and links it to the contract", async () => {
      // The domain picker lists the account's domains; where provisioning cannot list them, the id is typed.
      const picker = page.getByLabel("PBX domain").or(page.getByLabel("Domain id"));
      await picker.waitFor();
      if (await page.getByLabel("PBX domain").isVisible()) {
        await page.getByLabel("PBX domain").selectOption(env("DOMAIN_ID"));
      } else {
        await page.getByLabel("Domain id").fill(env("DOMAIN_ID"));
        await page.getByRole("button", { name: "Open", exact: true }).click();
      }
      await eventually("the domain is linked", async () => {
        // The contracts service may not know the new domain for a moment (409 not_yet_known): try again.
        if (await page.getByText("This domain is linked to the contract.").isVisible()) return true;
        await page.getByRole("button", { name: "Link this domain to the contract" }).click();
        return false;
      }, { every: 700 });
    });

    await step("customer accepts the draft contract, with a confirmation", async () => {
      await page.getByRole("button", { name: "Accept contract" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("button", { name: "Accept", exact: true }).click();
      await page.getByTestId("contract-status").getByText("waiting for the vendor's approval").waitFor();
      await shot(page, "customer-access-rights");
    });

    await step("operator approves the contract", async () => {
      await operator.getByLabel("Contract id").fill(env("CONTRACT_ID"));
      await operator.getByRole("button", { name: "Approve", exact: true }).click();
      await operator.getByText("Contract approved: it is now active").waitFor();
    });

    await step("two phones enrol with provisioning codes from the Hardware tab", async () => {
      await page.reload();
      await page.getByTestId("contract-status").getByText("Active").waitFor();
      await openTab(page, "Hardware");
      for (const hwid of [phone1, phone2]) {
        await page.getByRole("button", { name: "Get a provisioning code" }).click();
        const code = page.getByTestId("provisioning-code");
        await code.waitFor();
        const typed = (await code.textContent()).trim();
        // The phone itself enrols with the code its user typed, against provisioning (no token).
        const response = await fetch(`${env("PROVISIONING_URL")}/v1/provisioning`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ code: typed, hwid, product, type: "PHONE" }),
        });
        check(response.status === 201, `enrolment of ${hwid}: ${response.status} ${await response.text()}`);
        await freshTab(page, "Hardware");
      }
      await eventually("both phones are listed as available", async () => {
        await freshTab(page, "Hardware");
        const rows = [page.getByTestId(`hardware-${phone1}`), page.getByTestId(`hardware-${phone2}`)];
        for (const row of rows) if (!(await row.getByText("Available").isVisible())) return false;
        return true;
      });
      await shot(page, "customer-hardware-tab");
    });

    await step("customer activates a phone and the balance starts to fall", async () => {
      await page.getByRole("button", { name: `Activate rental of ${product} ${phone1}` }).click();
      await page.getByText(`Rental of ${phone1} activated.`).waitFor();
      await eventually("the wallet burns at the phone's rate", async () => {
        await page.reload();
        return (await page.getByTestId("burn-rate").textContent()).startsWith("864.00");
      }, { every: 700 });
      const first = balanceOf(await page.getByTestId("balance").textContent());
      check(first < 1000, `the balance did not fall: ${first}`);
      // Live on the page, and on the server: a fresh read is lower again.
      await eventually("the balance counts down on the page", async () =>
        balanceOf(await page.getByTestId("balance").textContent()) < first,
      );
      await eventually("the wallet's balance is lower on a fresh read", async () => {
        await page.reload();
        return balanceOf(await page.getByTestId("balance").textContent()) < first;
      }, { every: 1000 });
      // 1,000 iSC at 864 iSC a day last about a day: the run-out is near, and the page says so.
      await page.getByRole("alert").filter({ hasText: "Your credits run out within a week" }).waitFor();
      await shot(page, "customer-rental-overview-burning");
    });

    let seqAfterActivation;
    await step("the gateway acknowledges a bundle that rents the phone", async () => {
      await openTab(page, "Licences");
      await eventually("the bundle lists the phone and expires", async () =>
        (await page.getByTestId("bundle-expiry").textContent()).startsWith("expires"),
      );
      seqAfterActivation = await eventually("the gateway acknowledged a bundle", async () => gatewaySeq(page, gateway));
      await page.getByTestId(`gateway-${gateway}`).getByText("Online").waitFor();
      await shot(page, "customer-licences");
    });

    await step("customer replaces the phone by RMA, with a device picker and a confirmation", async () => {
      await openTab(page, "Contract");
      await page.getByTestId(`rental-${phone1}`).getByRole("button", { name: "Replace (RMA)" }).click();
      await page.getByLabel("Replacement device").selectOption({ label: `${product} ${phone2}` });
      await page.getByRole("button", { name: "Replace", exact: true }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Replace", exact: true }).click();
      await page.getByText("Device replaced; the rental carries on.").waitFor();
      await eventually("the new phone's rental is active", async () => {
        await freshTab(page, "Contract");
        return page.getByTestId(`rental-${phone2}`).getByRole("button", { name: "Deactivate" }).isVisible();
      });
      await shot(page, "customer-contract-tab-after-rma");
    });

    await step("the gateway's seq rises with the new bundle", async () => {
      await openTab(page, "Licences");
      await eventually("a higher seq is acknowledged", async () => (await gatewaySeq(page, gateway)) > seqAfterActivation);
    });

    await step("customer deactivates the rental, with a confirmation", async () => {
      await openTab(page, "Contract");
      await page.getByTestId(`rental-${phone2}`).getByRole("button", { name: "Deactivate" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByText("stops costing credits").waitFor();
      await dialog.getByRole("button", { name: "Deactivate", exact: true }).click();
      await page.getByText(`Rental of ${phone2} deactivated.`).waitFor();
    });

    await step("customer reads the history", async () => {
      const history = page.getByTestId("history");
      const has = async (type) => (await history.locator(`li[data-type="${type}"]`).count()) > 0;
      await eventually("the history tells the whole story", async () => {
        await freshTab(page, "History");
        return (await has("CreditsLoaded")) || (await has("DeviceActivated"));
      });
      // The timeline is paged: older entries come a page at a time, back to the contract's opening.
      const older = page.getByRole("button", { name: "Show older entries" });
      const all = ["ContractOpened", "CreditsLoaded", "DeviceActivated", "DeviceReplaced", "DeviceDeactivated"];
      await eventually("the whole history is read, page by page", async () => {
        if (await older.isVisible()) await older.click();
        for (const type of all) if (!(await has(type))) return false;
        return !(await older.isVisible());
      });
      const entries = await history.locator("li").count();
      check(entries > 5, `the story has more than a few entries, saw ${entries}`);
      await shot(page, "customer-history");
    });

    await step("the history is written for a customer: sentences, who did it, details behind a toggle", async () => {
      const history = page.getByTestId("history");
      const text = await history.textContent();
      check(!/RentalChanged|DeviceActivated|CreditsLoaded|rental v\d+/.test(text), `internal names shown: ${text}`);
      check(/You started renting/.test(text), `no sentence for the activation: ${text}`);
      check(/was loaded/.test(text), `no sentence for the credits: ${text}`);
      check(/the operator|your partner|the platform/.test(text), `no actor named: ${text}`);
      await page.getByLabel("Show details").check();
      await history.locator("details").first().waitFor();
      check((await history.locator('li[data-type="RentalChanged"]').count()) > 0, "details hide the snapshots");
      await shot(page, "customer-history-details");
      await page.getByLabel("Show details").uncheck();
    });

    await step("the burn-down chart renders with the ledger's balance and the projection", async () => {
      const chart = page.getByTestId("burn-down-chart");
      await chart.locator("canvas").waitFor();
      await chart.getByText("Projected").waitFor();
      await shot(page, "customer-rental-overview-chart");
    });

    await step("the forecast panel on the Hardware tab shows the run-out before confirming", async () => {
      await openTab(page, "Hardware");
      await page.getByLabel(`Forecast renting ${phone1}`).check();
      const after = page.getByTestId("forecast-after");
      await after.waitFor();
      await eventually("the forecast answers", async () => /iSC a day: /.test(await after.textContent()));
      const text = await after.textContent();
      check(/^864\.00 iSC a day: /.test(text), `forecast: ${text}`);
      check(!/about 0 day/.test(text), `dishonest units: ${text}`);
      await shot(page, "customer-hardware-forecast");
    });

    await step("customer rents software licences on the Software tab, after its forecast", async () => {
      await openTab(page, "Software");
      await page.getByLabel("Licence type").selectOption(env("LICENCE_TYPE"));
      await page.getByLabel("Licence count").fill("2");
      const after = page.getByTestId("forecast-after");
      await eventually("the forecast answers", async () => (await after.isVisible()) && /iSC a day: /.test(await after.textContent()));
      await shot(page, "customer-software-forecast");
      // The Software form's own button: the first-run checklist may show "Rent" buttons for phones too. A click
      // that lands while the tab re-renders (its forecast and tariffs reloading) can be lost, so it is repeated
      // until the rental is listed; a repeat of a rental already made is refused (software_rental_exists).
      const softwareForm = page.locator("form").filter({ has: page.getByLabel("Licence count") });
      const rented = page.getByTestId("software-rentals").getByRole("row").filter({ hasText: env("LICENCE_TYPE") });
      await eventually("the software rental is listed", async () => {
        if (await rented.count()) return true;
        await softwareForm.getByRole("button", { name: "Rent", exact: true }).click();
        return rented.first().waitFor({ timeout: 3000 }).then(() => true, () => false);
      }, { within: 45000, every: 500 });
      check((await rented.getByRole("cell").nth(1).textContent()) === "2", "two licences rented");
      await shot(page, "customer-software");
    });

    await step("the statement lists the ledger with its running balance, by month, and exports CSV", async () => {
      await openTab(page, "Statement");
      const table = page.getByTestId("statement");
      await table.getByText("Credits loaded").waitFor();
      await eventually("usage is charged on the statement", async () => {
        await freshTab(page, "Statement");
        return page.getByTestId("statement").getByText("Rental charged").first().isVisible();
      }, { every: 1000 });
      const month = new Date().toISOString().slice(0, 7);
      await page.getByLabel("Month", { exact: true }).selectOption(month);
      const download = page.waitForEvent("download");
      await page.getByRole("button", { name: "Export CSV" }).click();
      const file = await download;
      check(file.suggestedFilename() === `statement-${month}.csv`, `download: ${file.suggestedFilename()}`);
      await shot(page, "customer-statement");
    });

    await step("the tabs work from the keyboard", async () => {
      await page.getByRole("tab", { name: "History" }).focus();
      await page.keyboard.press("ArrowRight");
      await page.getByRole("heading", { level: 2, name: "Licences", exact: true }).waitFor();
      const focused = await page.evaluate(() => document.activeElement?.textContent);
      check(focused === "Licences", `focus is on ${focused}`);
    });
    await step("the rental view works at phone width", async () => {
      await page.setViewportSize(PHONE);
      await openTab(page, "Contract");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 1, `the page is ${overflow}px wider than the phone`);
      await shot(page, "customer-contract-tab-phone");
    });
    await context.close();
    await operatorContext.close();
  },

  async customer_cannot_reach_another_account(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, { accountId: env("OWN_ACCOUNT_ID") });
    await step("another account's data answers 404 through the app's own API", async () => {
      const answer = await page.evaluate(async (other) => {
        const response = await fetch(`/api/wallet/v1/accounts/${other}`);
        return { status: response.status, body: await response.text() };
      }, env("OTHER_ACCOUNT_ID"));
      check(answer.status === 404, `status ${answer.status}`);
      check(!answer.body.includes(env("OTHER_ACCOUNT_NAME")), "the other account's name leaked");
    });
    await step("another account's contract is not found, and not listed", async () => {
      const answer = await page.evaluate(async ({ contract, account }) => {
        const one = await fetch(`/api/contracts/v1/contracts/${contract}`);
        const list = await fetch(`/api/contracts/v1/contracts?account_id=${account}`);
        return { one: one.status, listStatus: list.status, list: await list.text() };
      }, { contract: env("OTHER_CONTRACT_ID"), account: env("OTHER_ACCOUNT_ID") });
      check(answer.one === 404, `another account's contract answered ${answer.one}`);
      check(!answer.list.includes(env("OTHER_CONTRACT_ID")), `another account's contract is listed: ${answer.list}`);
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

  async customer_notifications(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const card = page.getByRole("region", { name: "Notifications" });
    const endpoints = card.getByTestId("webhook-endpoints");
    const deliveries = card.getByTestId("webhook-deliveries");
    // The log loads when it is opened: closed and opened again, it reads the wallet afresh.
    async function reopenDeliveries() {
      const hide = endpoints.getByRole("button", { name: "Hide deliveries" });
      if (await hide.count()) await hide.click();
      await endpoints.getByRole("button", { name: "Deliveries", exact: true }).click();
    }
    // The redemption's delivery (a restoration of the balance may be logged beside it).
    const creditsRow = () => deliveries.locator("tbody tr").filter({ hasText: "credits.loaded" }).first();
    async function deliveryRow() {
      await reopenDeliveries();
      await deliveries.waitFor({ timeout: 5000 });
      const cells = await creditsRow().locator("td").allTextContents();
      return { event: cells[0], status: cells[2], attempts: Number(cells[3]), answer: cells[4] };
    }
    await step("customer signs in and finds the Notifications card", async () => {
      await signIn(page, { accountId: env("OWN_ACCOUNT_ID") });
      await page.getByRole("heading", { name: "Rental" }).waitFor();
      await card.getByRole("heading", { name: "Webhooks" }).waitFor();
    });
    await step("customer registers a webhook endpoint and sees its secret once", async () => {
      await card.getByLabel("Endpoint URL").fill(env("RECEIVER_URL"));
      await card.getByRole("button", { name: "Add endpoint" }).click();
      const secret = (await card.getByTestId("webhook-secret").textContent()).trim();
      check(secret.startsWith("whsec_"), `no secret shown: ${secret}`);
      await endpoints.getByText(env("RECEIVER_URL")).waitFor();
      console.log(`SECRET ${secret}`);
      await shot(page, "customer-notifications-endpoint");
    });
    await step("customer loads credits: an event for the endpoint", async () => {
      await page.getByLabel("Activation key").fill(env("KEY_CODE"));
      await page.getByRole("button", { name: "Load credits" }).click();
      await page.getByRole("region", { name: "Load credits" }).getByRole("status").waitFor();
    });
    await step("the delivery shows in the log, delivered", async () => {
      const first = await eventually("the delivery delivered", async () => {
        const row = await deliveryRow();
        return row.event === "credits.loaded" && row.status === "delivered" && row.attempts === 1 && row;
      });
      check(first.answer === "204", `the receiver's answer shown: ${first.answer}`);
      await shot(page, "customer-notifications-delivered");
    });
    await step("customer sends it again and sees the second attempt", async () => {
      await creditsRow().getByRole("button", { name: "Send again" }).click();
      await eventually("the replay delivered", async () => {
        const row = await deliveryRow();
        return row.status === "delivered" && row.attempts === 2 && row.answer === "204";
      });
      await shot(page, "customer-notifications-replayed");
    });
    await context.close();
  },

  async operator_reads_outgoing_mail(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const card = page.getByRole("region", { name: "Outgoing mail" });
    const item = card.getByRole("listitem").filter({ hasText: env("MAIL_TO") });
    await step("the operator screen lists the mail the wallet sent", async () => {
      await signIn(page, { staff: "operator" });
      await card.waitFor();
      // The card reads the sink again every few seconds: the warning is already there, so this is quick.
      await item.waitFor();
      const summary = (await item.locator("summary").textContent()).trim();
      check(summary.includes(env("MAIL_SUBJECT")), `the subject is not shown: ${summary}`);
    });
    await step("the operator opens it and reads its text", async () => {
      await item.locator("summary").click();
      const text = await item.locator("pre").textContent();
      check(/will run out in/.test(text), `the warning's text is not shown: ${text}`);
      check(!text.includes("{"), `raw JSON shown: ${text}`);
      await shot(page, "operator-outgoing-mail");
    });
    await context.close();
  },

  async partner_creates_a_test_clock_and_an_account_on_it(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const card = page.getByRole("region", { name: "Test clocks" });
    let clockId;
    await step("the partner creates a test clock at a simulated instant", async () => {
      await signIn(page, { staff: "partner" });
      await card.getByLabel("Name").fill(env("CLOCK_NAME"));
      await card.getByLabel("Starts at (simulated time)").fill("2027-03-01T00:00");
      await card.getByRole("button", { name: "Create test clock" }).click();
      clockId = (await page.getByTestId("new-test-clock-id").textContent()).trim();
      check(/^[0-9a-f-]{36}$/.test(clockId), `no clock id shown: ${clockId}`);
      const row = page.getByTestId(`test-clock-${env("CLOCK_NAME")}`);
      await row.waitFor();
      check((await row.getByTestId("test-clock-status").textContent()) === "ready", "a new clock is not ready");
      console.log(`CLOCK ${clockId}`);
    });
    await step("the partner opens a rehearsal account on the clock", async () => {
      await page.getByLabel("Customer name").fill(`${env("CLOCK_NAME")} GmbH`);
      await page.getByLabel("Test clock id (optional: a rehearsal account)").fill(clockId);
      await page.getByRole("button", { name: "Open account" }).click();
      const accountId = (await page.getByTestId("new-account-id").textContent()).trim();
      check(/^[0-9a-f-]{36}$/.test(accountId), `no account id shown: ${accountId}`);
      console.log(`ACCOUNT ${accountId}`);
      await shot(page, "partner-test-clocks");
    });
    await context.close();
  },

  async a_week_on_the_test_clock_as_partner_and_customer_see_it(browser) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const row = page.getByTestId(`test-clock-${env("CLOCK_NAME")}`);
    await step("the partner advances the clock by a week and follows it until ready", async () => {
      await signIn(page, { staff: "partner" });
      await row.getByLabel("Advance by").selectOption({ label: "1 week" });
      await row.getByRole("button", { name: "Advance" }).click();
      await eventually("the clock ready a week later", async () => {
        const status = await row.getByTestId("test-clock-status").textContent();
        const time = await row.getByTestId("test-clock-time").textContent();
        return status === "ready" && time.includes("Mar 8, 2027");
      });
    });
    // The customer in a browser of their own (a context has one session).
    const theirs = await browser.newContext({ viewport: DESKTOP });
    const customer = await theirs.newPage();
    await step("the customer sees the simulated time and a balance that stands still", async () => {
      await signIn(customer, { accountId: env("ACCOUNT_ID") });
      const banner = customer.getByTestId("test-clock-banner");
      await banner.waitFor();
      const at = await banner.getByTestId("test-clock-time").textContent();
      check(at.includes("Mar 8, 2027"), `the banner shows ${at}`);
      const balance = customer.getByTestId("balance");
      const first = await balance.textContent();
      check(balanceOf(first) === Number(env("BALANCE_AFTER_A_WEEK")), `balance ${first} after a week on the clock`);
      // A live account's balance counts down every second; this one is read at the clock's time and stays.
      await customer.waitForTimeout(1500);
      check((await balance.textContent()) === first, "the balance of an account on a test clock moved");
      await shot(customer, "customer-on-a-test-clock");
    });
    await theirs.close();
    await context.close();
  },
};

await playScenario(scenarios);
