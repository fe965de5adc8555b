import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, seriousViolations, sidewaysOverflow } from '../support/browser';
import { SALES_CSV, SALES_PLOT_CODE } from '../support/data';
import { answer } from '../support/fake-model';
import { useHarness } from '../support/harness';

const FAILING_CODE = "raise ValueError('the column is missing')";
/**
 * Tenants of this file alone: the dev server (and its visibility) is shared by every test file, and
 * other files' tenants have runs of their own.
 */
const RUN = Math.random().toString(36).slice(2, 8);
const ACME = `acme-${RUN}`;
const GLOBEX = `globex-${RUN}`;

/**
 * The web console in Debian's Chromium against the real stack: the gateway serving the built console,
 * a worker, the Temporal dev server and the sandbox, with the scripted fake model.
 */
describe('the web console in a real browser', () => {
  const harness = useHarness({ env: { ADMIN_API_KEY: 'operator-key' } });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };
  let browser: Browser;
  let acmeKey: string;
  let globexKey: string;
  let acme: BrowserContext;
  let page: Page;

  const secretFor = async (tenant: string) => {
    const made = await harness.request('POST', '/api/keys', { tenant, name: 'console', scopes: ['read', 'run'] });
    return made.body.secret as string;
  };

  /** Signs in through the form, as a person does. */
  const signIn = async (target: Page, key: string) => {
    await target.goto(`${harness.baseUrl}/runs`);
    await target.getByLabel('API key').fill(key);
    await target.getByRole('button', { name: 'Sign in' }).click();
    await target.getByRole('heading', { name: 'Runs' }).waitFor();
  };

  /** The run's id, from the page the console went to after starting it. */
  const runIdOf = (target: Page) => decodeURIComponent(new URL(target.url()).pathname.split('/').pop()!);

  const waitForStatus = async (target: Page, status: string, timeout = 60_000) => {
    await target.locator('.run > .heading-row .badge', { hasText: new RegExp(`^${status}$`) }).waitFor({ timeout });
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    acmeKey = await secretFor(ACME);
    globexKey = await secretFor(GLOBEX);
    acme = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await acme.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('sign in with a key: the key is not kept by the page, only an HttpOnly cookie', async () => {
    await page.goto(`${harness.baseUrl}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in');

    const wrong = page.getByLabel('API key');
    await wrong.fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That key is unknown, revoked or expired.' }).waitFor();

    await signIn(page, acmeKey);
    const cookies = await acme.cookies();
    expect(cookies.map((cookie) => cookie.name)).toEqual(['agent_session']);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(page.url()).not.toContain(acmeKey);
  });

  test('a run with a CSV: it succeeds live, with the answer, the plot and the code', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code(SALES_PLOT_CODE),
      answer.analysis('North grew fastest: revenue rose 110% from January to March.'),
    );
    await page.getByRole('link', { name: 'New run' }).first().click();
    await page.getByLabel('What should be found out?').fill('Which region grew fastest? Plot revenue by month.');
    await page
      .locator('#files')
      .setInputFiles({ name: 'sales.csv', mimeType: 'text/csv', buffer: Buffer.from(SALES_CSV) });
    await page.getByRole('list', { name: 'Files to upload' }).getByText('sales.csv').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'new-run');
    await page.getByRole('button', { name: 'Start the run' }).click();

    await page.waitForURL(/\/runs\/exec-/);
    await waitForStatus(page, 'succeeded');
    await page.getByText('North grew fastest: revenue rose 110% from January to March.').waitFor();
    const plot = page.getByRole('img', { name: 'Plot revenue.png' });
    await plot.waitFor();
    // Loaded and drawn: the browser decoded the PNG the gateway served.
    await page.waitForFunction(
      `(() => { const img = document.querySelector('img[alt="Plot revenue.png"]');
        return img !== null && img.complete && img.naturalWidth > 100; })()`,
    );
    await page.getByText('fastest growth: North 110%').first().waitFor();
    // The attempt's code, highlighted, and who wrote it.
    await page.getByText(/Attempt 1: succeeded · written by the model/).waitFor();
    expect(await page.locator('pre.code .hljs-keyword').count()).toBeGreaterThan(0);
    const snapshot = await harness.waitForEnd(runIdOf(page));
    expect(snapshot.triggeredBy).toBe('user');
    expect(snapshot.tenant).toBe(ACME);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'run-succeeded');

    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByRole('link', { name: 'Which region grew fastest? Plot revenue by month.' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'runs');
  });

  test('pause and resume from the run page', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code("import time\nprint('tick', flush=True)\ntime.sleep(3)\nprint('tock')"),
      answer.analysis('Ticked and tocked.'),
    );
    await page.goto(`${harness.baseUrl}/runs/new`);
    await page.getByLabel('What should be found out?').fill('Tick, then tock.');
    await page.getByRole('button', { name: 'Start the run' }).click();
    await page.waitForURL(/\/runs\/exec-/);
    const id = runIdOf(page);
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    // What the step prints shows while it still runs.
    await page.getByRole('heading', { name: 'Output so far (attempt 1)' }).waitFor({ timeout: 5000 });
    await page.locator('pre.output', { hasText: 'tick' }).waitFor();
    expect(await page.locator('pre.output', { hasText: 'tock' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Pause' }).click();
    await waitForStatus(page, 'paused');
    // Only what a paused run allows.
    expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Cancel' }).waitFor();
    await screenshot(page, 'run-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForStatus(page, 'succeeded');
    const snapshot = await harness.waitForEnd(id);
    expect(snapshot.timeline.map((event) => event.event)).toEqual(
      expect.arrayContaining(['EXECUTION_PAUSED', 'EXECUTION_RESUMED']),
    );
  });

  test('keyboard only: start a run that needs approval, and approve its plan', async () => {
    harness.fake.script(answer.plan(), answer.code("print('approved and ran')"), answer.analysis('It ran.'));
    await page.goto(`${harness.baseUrl}/runs/new`);
    /** Presses Tab until the focused element fits `matches` (its id, its text, its label's text). */
    const focusOn = async (matches: (focused: { id: string; text: string; label: string }) => boolean, limit = 40) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab');
        const focused = (await page.evaluate(`(() => {
          const element = document.activeElement;
          return {
            id: element?.id ?? '',
            text: element?.textContent?.trim() ?? '',
            label: element?.closest('label')?.textContent?.trim() ?? '',
          };
        })()`)) as { id: string; text: string; label: string };
        if (matches(focused)) return;
      }
      throw new Error(`Tab did not reach the element: ${matches.toString()}`);
    };
    await focusOn((focused) => focused.id === 'task');
    await page.keyboard.type('Print that it was approved.');
    await focusOn((focused) => focused.label.includes('approve the plan'));
    await page.keyboard.press('Space');
    await focusOn((focused) => focused.text === 'Start the run');
    await page.keyboard.press('Enter');

    await page.waitForURL(/\/runs\/exec-/);
    await page.getByRole('button', { name: 'Approve the plan' }).waitFor();
    await screenshot(page, 'run-awaiting-approval');
    expect(await seriousViolations(page)).toEqual([]);
    await focusOn((focused) => focused.text === 'Approve the plan');
    await page.keyboard.press('Enter');
    await waitForStatus(page, 'succeeded');
    await page.locator('pre.output', { hasText: 'approved and ran' }).waitFor();
  });

  test('answer a failing step with code of one’s own', async () => {
    harness.fake.script(answer.plan(), answer.code(FAILING_CODE), answer.analysis('The fixed code printed 7.'));
    await page.goto(`${harness.baseUrl}/runs/new`);
    await page.getByLabel('What should be found out?').fill('Print seven.');
    await page.getByLabel('Ask me for a hint or code when a step keeps failing').check();
    await page.getByLabel('Code attempts per step').fill('1');
    await page.getByRole('button', { name: 'Start the run' }).click();
    await page.waitForURL(/\/runs\/exec-/);

    await page.getByRole('heading', { name: 'A step keeps failing: what next?' }).waitFor({ timeout: 60_000 });
    await page.getByText('the column is missing').first().waitFor();
    await page.getByLabel('Or code to run for this step').fill('print(3 + 4)');
    await page.getByRole('button', { name: 'Run this code' }).click();
    await waitForStatus(page, 'succeeded');
    await page.getByText(/Attempt 2: succeeded · written by a person/).waitFor();
    await page.getByText('The fixed code printed 7.').waitFor();
  });

  test('retry a failed run from its step with edited code', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code(FAILING_CODE),
      // A failed run is analysed too, then the retry once it succeeds.
      answer.analysis('The step failed: the column is missing.'),
      answer.analysis('Now it printed 42.'),
    );
    await page.goto(`${harness.baseUrl}/runs/new`);
    await page.getByLabel('What should be found out?').fill('Print the answer.');
    await page.getByLabel('Code attempts per step').fill('1');
    await page.getByRole('button', { name: 'Start the run' }).click();
    await page.waitForURL(/\/runs\/exec-/);
    const failedId = runIdOf(page);
    await waitForStatus(page, 'failed');
    await page
      .getByText(/CODE_ERROR/)
      .first()
      .waitFor();

    await page.getByText('Retry from a step').click();
    const code = page.getByLabel('Its code (edit it, or leave it for the model to write again)');
    expect(await code.inputValue()).toBe(FAILING_CODE);
    await code.fill('print(6 * 7)');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL((url) => !url.pathname.endsWith(encodeURIComponent(failedId)));
    await waitForStatus(page, 'succeeded');
    await page.getByRole('link', { name: failedId }).waitFor();
    const retried = await harness.waitForEnd(runIdOf(page));
    expect(retried.parentId).toBe(failedId);
    expect(retried.steps[0]!.attempts.at(-1)).toMatchObject({ author: 'person', code: 'print(6 * 7)' });
    expect(retried.steps[0]!.attempts.at(-1)!.stdout).toContain('42');
  });

  test('the runs page shows a new run and its status changes as they happen, without a reload', async () => {
    await page.goto(`${harness.baseUrl}/runs`);
    await page.getByText(/live · last change/).waitFor();
    const started = await harness.request(
      'POST',
      '/api/executions',
      { code: "import time\ntime.sleep(2)\nprint('slept')" },
      { authorization: `Bearer ${acmeKey}` },
    );
    const row = page.getByRole('row', { name: new RegExp(started.body.id as string) });
    await row.getByText(/^(queued|starting|running)$/).waitFor({ timeout: 15_000 });
    await row.getByText('succeeded', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1);
    await harness.waitForEnd(started.body.id as string);
  });

  test("another tenant's key sees none of these runs", async () => {
    const acmeRuns = await harness.request('GET', `/api/executions?tenant=${ACME}`);
    const acmeIds = (acmeRuns.body.executions as Array<{ id: string }>).map((run) => run.id);
    expect(acmeIds.length).toBeGreaterThan(0);
    const globex = await browser.newContext();
    try {
      const other = await globex.newPage();
      await signIn(other, globexKey);
      await other.getByText('No runs yet.').waitFor();
      await other.goto(`${harness.baseUrl}/runs/${encodeURIComponent(acmeIds[0]!)}`);
      await other.getByRole('heading', { name: 'Run not found' }).waitFor();
      expect(await other.getByText('There is no run with this id, or it belongs to another tenant.').count()).toBe(1);
    } finally {
      await globex.close();
    }
  });

  test('tasks: make one, run it from the form its parameters make, save a new version', async () => {
    harness.fake.script(answer.plan(), answer.code("print('region North')"), answer.analysis('North it is.'));
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await page.getByText('No named tasks yet.').waitFor();
    await page.getByRole('link', { name: 'New task' }).click();
    await page.getByLabel('Slug').fill('growth');
    await page.getByLabel('Title').fill('Growth of a region');
    await page.getByLabel('Task text').fill('How fast did {{region}} grow?');
    await page
      .getByLabel('Parameters (JSON, optional)')
      .fill(
        JSON.stringify({ properties: { region: { type: 'string', enum: ['North', 'South'] } }, required: ['region'] }),
      );
    await page.getByRole('button', { name: 'Save the task' }).click();
    await page.getByRole('heading', { name: 'Growth of a region' }).waitFor();
    await page.getByText('growth · version 1').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'task');

    await page.locator('#run-region').selectOption('North');
    await page.getByRole('button', { name: 'Run the task' }).click();
    await page.waitForURL(/\/runs\/exec-/);
    await waitForStatus(page, 'succeeded');
    const run = await harness.waitForEnd(runIdOf(page));
    expect(run).toMatchObject({
      task: 'How fast did North grow?',
      triggeredBy: 'user',
      namedTask: { slug: 'growth', version: 1 },
    });

    await page.goto(`${harness.baseUrl}/tasks/growth/edit`);
    await page.getByText('Saving makes version 2').waitFor();
    await page.getByLabel('Title').fill('Growth of one region');
    await page.getByRole('button', { name: 'Save the task' }).click();
    await page.getByText('growth · version 2').waitFor();
    await page.getByLabel('Version').selectOption('1');
    await page.getByRole('heading', { name: 'Growth of a region' }).waitFor();
  });

  test("a task's schedules and inbound hooks", async () => {
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${harness.baseUrl}/tasks/growth`);
    await page.getByText('No schedule runs this task.').waitFor();
    await page.getByText('New schedule').click();
    await page.locator('#schedule-region').selectOption('South');
    await page.getByLabel('Interval').fill('2h');
    await page.getByRole('button', { name: 'Make the schedule' }).click();
    const schedule = page.locator('.card', { hasText: 'every 2h' });
    await schedule.waitFor();
    await schedule.getByText(/Next runs: \w+/).waitFor();
    await schedule.getByRole('button', { name: 'Pause' }).click();
    await schedule.getByText('Next runs: (paused)').waitFor();
    const listed = await harness.request('GET', '/api/tasks/growth/schedules', undefined, {
      authorization: `Bearer ${acmeKey}`,
    });
    expect(listed.body.schedules).toEqual([expect.objectContaining({ paused: true, inputs: { region: 'South' } })]);
    await schedule.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No schedule runs this task.').waitFor();

    await page.getByRole('button', { name: 'New hook' }).click();
    const shown = page.getByRole('status').filter({ hasText: 'shown this once' });
    await shown.waitFor();
    const firstSecret = await shown.locator('code').textContent();
    expect(firstSecret).toMatch(/^whsec_/);
    await page.locator('.card code', { hasText: '/api/hooks/hook_' }).waitFor();
    await page.getByRole('button', { name: 'Rotate the secret' }).click();
    // The new secret replaces the one shown.
    let rotated = firstSecret;
    for (let i = 0; i < 100 && rotated === firstSecret; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rotated = await page.locator('code.secret').textContent();
    }
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(firstSecret);
    expect(await seriousViolations(page)).toEqual([]);
  });

  test("a tenant admin's keys and subscriptions", async () => {
    const made = await harness.request('POST', '/api/keys', {
      tenant: ACME,
      name: 'acme admin',
      scopes: ['read', 'run', 'admin'],
    });
    const admin = await browser.newContext();
    try {
      const adminPage = await admin.newPage();
      adminPage.on('dialog', (dialog) => void dialog.accept());
      await signIn(adminPage, made.body.secret as string);
      await adminPage.getByRole('link', { name: 'Keys' }).click();
      await adminPage.getByRole('heading', { name: `Keys of ${ACME}` }).waitFor();
      await adminPage.getByRole('cell', { name: /^acme admin key_/ }).waitFor();
      await adminPage.getByLabel('Name').fill('reporting');
      await adminPage.getByRole('checkbox', { name: 'admin', exact: true }).uncheck();
      await adminPage.getByRole('button', { name: 'Make the key' }).click();
      const secret = await adminPage.getByRole('status').filter({ hasText: 'reporting' }).locator('code').textContent();
      expect(secret).toMatch(/^ak_/);
      expect(await seriousViolations(adminPage)).toEqual([]);
      await screenshot(adminPage, 'keys');
      await adminPage.getByRole('button', { name: 'Revoke reporting' }).click();
      await adminPage
        .getByRole('row', { name: /reporting/ })
        .getByText(/revoked/)
        .waitFor();
      const signedWithRevoked = await harness.request('GET', '/api/executions', undefined, {
        authorization: `Bearer ${secret}`,
      });
      expect(signedWithRevoked.status).toBe(401);

      await adminPage.getByRole('link', { name: 'Subscriptions' }).click();
      await adminPage.getByText('No subscriptions.').waitFor();
      await adminPage.getByLabel('Receiver URL').fill('https://receiver.example.com/events');
      await adminPage.getByRole('checkbox', { name: 'awaiting_input' }).uncheck();
      await adminPage.getByRole('button', { name: 'Subscribe' }).click();
      const card = adminPage.locator('.card', { hasText: 'https://receiver.example.com/events' });
      await card.getByText('status, completed').waitFor();
      await card.getByRole('button', { name: 'Deliveries' }).click();
      await card.getByText('Nothing delivered yet.').waitFor();
      expect(await seriousViolations(adminPage)).toEqual([]);
      await screenshot(adminPage, 'subscriptions');
    } finally {
      await admin.close();
    }
  });

  test('at 390 px wide no page scrolls sideways', async () => {
    const acmeRuns = await harness.request('GET', `/api/executions?tenant=${ACME}`);
    const id = (acmeRuns.body.executions as Array<{ id: string; status: string }>).find(
      (run) => run.status === 'succeeded',
    )!.id;
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const small = await phone.newPage();
      await signIn(small, acmeKey);
      for (const [name, route, ready] of [
        ['runs', '/runs', 'Runs'],
        ['new-run', '/runs/new', 'New run'],
        ['run', `/runs/${encodeURIComponent(id)}`, 'Timeline'],
        ['task', '/tasks/growth', 'Schedules'],
      ] as const) {
        await small.goto(`${harness.baseUrl}${route}`);
        await small.getByRole('heading', { name: ready, exact: true }).waitFor();
        expect({ page: name, overflow: await sidewaysOverflow(small) }).toEqual({ page: name, overflow: 0 });
        await screenshot(small, `narrow-${name}`);
      }
    } finally {
      await phone.close();
    }
  });
});

describe('the web console when no worker polls', () => {
  const harness = useHarness({ model: false, worker: false });
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('it says so, and a new run shows as queued rather than as a spinner', async () => {
    const page = await browser.newPage();
    // An open gateway (loopback, no keys): no sign-in.
    await page.goto(`${harness.baseUrl}/runs/new`);
    await page
      .getByRole('alert')
      .filter({ hasText: 'No worker is polling the task queue: new runs wait in “queued”' })
      .waitFor();
    await page.locator('details summary', { hasText: 'Code instead of a task' }).click();
    await page.getByLabel('Python code').fill("print('waiting')");
    await page.getByRole('button', { name: 'Start the run' }).click();
    await page.waitForURL(/\/runs\/exec-/);
    await page.locator('.run > .heading-row .badge', { hasText: /^queued$/ }).waitFor();
    await page.getByText('Queued · 0/').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'no-worker');
  });
});
