// SPDX-License-Identifier: MIT
// Browser tests of the admin console (docs/console.md), run by tests/integration/70_console_e2e.py
// with `node --test tests/e2e/` against a running edge (both modules, forwarding to a python sink).
// Headless Debian chromium driven by playwright-core; HTTP Basic credentials through the browser
// context. Environment: EDGE_ADMIN_URL, EDGE_PUBLIC_URL, EDGE_ADMIN_USER, EDGE_ADMIN_PASSWORD,
// EDGE_SINK_URL (GET /control?hold=1|0), EDGE_DEAD_MARKER (a crash carrying it is refused with an
// HTML answer), EDGE_ARTIFACTS_DIR (screenshots), EDGE_CHROMIUM.
// page.waitForFunction cannot be used: it evaluates strings, which the console's CSP forbids
// (no 'unsafe-eval'); waitFor() polls from node instead. The subtests share one page and run in order: each builds on the state the previous one left.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {chromium} from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through tests/integration/70_console_e2e.py)`);
  return v;
};
const ADMIN = env('EDGE_ADMIN_URL');
const PUBLIC = env('EDGE_PUBLIC_URL');
const USER = env('EDGE_ADMIN_USER');
const PASSWORD = env('EDGE_ADMIN_PASSWORD');
const SINK = env('EDGE_SINK_URL');
const DEAD_MARKER = env('EDGE_DEAD_MARKER');
const ARTIFACTS = env('EDGE_ARTIFACTS_DIR');
const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const REDIRECT = '/?product=firefox-latest-ssl&os=win&lang=en-US&print=yes';
const MIRROR = 'e2e-mirror';
const MIRROR_URL = 'https://e2e.example.com/pub';

let browser, context, page;
const dialogs = []; // alert/confirm/prompt the page opened: an XSS would land here
const pageErrors = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.EDGE_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({httpCredentials: {username: USER, password: PASSWORD}, viewport: {width: 1280, height: 900}});
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await browser?.close();
});

async function shot(name, fullPage = false) {
  await page.screenshot({path: path.join(ARTIFACTS, `console-${name}.png`), fullPage});
}

async function openPage(name) {
  await page.goto(`${ADMIN}/console/#${name}`);
  await page.waitForSelector(`body[data-loaded="${name}"]`);
}

/** Which mirror base URLs answer `n` print=yes redirects on the public listener. */
async function redirectTargets(n) {
  const counts = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(PUBLIC + REDIRECT);
    assert.equal(res.status, 200);
    const url = (await res.text()).trim();
    const key = url.startsWith(MIRROR_URL) ? MIRROR : 'other';
    counts[key] = (counts[key] || 0) + 1;
  }
  return counts;
}

async function submitCrash(product) {
  const form = new FormData();
  form.append('ProductName', product);
  form.append('Version', '1.0');
  form.append('upload_file_minidump', new Blob([Buffer.from('MDMP\x93\xa7' + '\0'.repeat(64), 'latin1')]), 'dump.dmp');
  const res = await fetch(`${PUBLIC}/submit`, {method: 'POST', body: form});
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const m = /^CrashID=bp-([0-9a-f-]{36})/.exec(text);
  assert.ok(m, text);
  return m[1];
}

async function adminJson(p) {
  const res = await fetch(ADMIN + p, {headers: {Authorization: AUTH}});
  assert.equal(res.status, 200);
  return res.json();
}

async function waitFor(what, fn, timeout = 20000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const row = (name) => page.locator(`#mirrors-table tr[data-mirror="${name}"]`);

test('console', async (t) => {
  await t.test('log in and land on the mirrors page', async () => {
    const res = await page.goto(`${ADMIN}/console`);
    assert.equal(res.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/console/');
    await page.waitForSelector('body[data-loaded="mirrors"]');
    assert.equal(await page.locator('#nav-mirrors').getAttribute('aria-current'), 'page');
    assert.ok(await row('secure').count() === 1, 'the seeded mirrors are listed');
  });

  await t.test('keyboard: skip link, dialog focus in and back, Escape closes', async () => {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
    await page.focus('#mirror-add');
    await page.keyboard.press('Enter');
    assert.ok(await page.locator('#mirror-dialog').evaluate((d) => d.open));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'mirror-name');
    assert.equal(await page.locator('label[for="mirror-weight"]').count(), 1);
    await page.keyboard.press('Escape');
    assert.ok(!(await page.locator('#mirror-dialog').evaluate((d) => d.open)));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'mirror-add');
  });

  await t.test('a hostile mirror name is refused by the server, the error shown as text next to the field', async () => {
    await page.click('#mirror-add');
    await page.fill('#mirror-name', '<script>alert(1)</script>');
    await page.fill('#mirror-base_url', 'https://xss.example.com/');
    await page.click('#mirror-save');
    await page.waitForSelector('#mirror-name[aria-invalid="true"]');
    const error = await page.textContent('#mirror-name-error');
    assert.match(error, /name/);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#mirrors-table script').count(), 0);
  });

  await t.test('add a mirror, change its weight, redirects follow', async () => {
    await page.click('#mirror-add');
    await page.fill('#mirror-name', MIRROR);
    await page.fill('#mirror-base_url', MIRROR_URL);
    await page.fill('#mirror-weight', '1');
    await page.click('#mirror-save');
    await row(MIRROR).waitFor();
    assert.equal(await row(MIRROR).locator('td').nth(2).textContent(), '1');
    assert.equal(await row(MIRROR).locator('td').nth(1).textContent(), 'https');

    // a weight the server refuses: its message appears next to the weight field
    await page.click(`button[aria-label="Edit ${MIRROR}"]`);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'mirror-weight');
    await page.fill('#mirror-weight', '-5');
    await page.click('#mirror-save');
    await page.waitForSelector('#mirror-weight[aria-invalid="true"]');
    assert.match(await page.textContent('#mirror-weight-error'), /weight: must be an integer/);

    await page.fill('#mirror-weight', '1000000');
    await page.click('#mirror-save');
    await waitFor('the dialog to close', () => page.locator('#mirror-dialog').evaluate((d) => !d.open));
    await waitFor('the new weight', async () => (await row(MIRROR).locator('td').nth(2).textContent()) === '1000000');
    const counts = await redirectTargets(40);
    assert.ok((counts[MIRROR] || 0) >= 36, JSON.stringify(counts));
  });

  await t.test('disable the mirror: it leaves the choices', async () => {
    await page.click(`button[aria-label="Disable ${MIRROR}"]`);
    await waitFor('the disabled state', async () => (await row(MIRROR).textContent()).includes('disabled'));
    await waitFor('focus on Enable', async () => (await page.evaluate(() => document.activeElement.textContent)) === 'Enable');
    const counts = await redirectTargets(30);
    assert.equal(counts[MIRROR] || 0, 0, JSON.stringify(counts));
    await shot('mirrors');
  });

  await t.test('delete asks first; Cancel keeps the mirror, Delete removes it', async () => {
    await page.click(`button[aria-label="Delete ${MIRROR}"]`);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-cancel');
    await page.click('#confirm-cancel');
    assert.equal(await row(MIRROR).count(), 1);
    await page.click(`button[aria-label="Delete ${MIRROR}"]`);
    await page.click('#confirm-ok');
    await row(MIRROR).waitFor({state: 'detached'});
    const data = await adminJson('/api/v1/mirrors');
    assert.ok(!data.mirrors.some((m) => m.name === MIRROR));
  });

  await t.test('a 401 from the API makes the page navigate again (the browser asks for credentials)', async () => {
    let refused = false;
    await page.route('**/api/v1/mirrors', (route) => {
      if (refused) return route.continue();
      refused = true;
      return route.fulfill({status: 401, contentType: 'application/json', body: '{"error":"unauthorized"}'});
    });
    const navigated = page.waitForEvent('load');
    await page.click('#refresh');
    await navigated;
    await page.waitForSelector('body[data-loaded="mirrors"]');
    await page.unroute('**/api/v1/mirrors');
    assert.ok(refused);
  });

  await t.test('products: search, add with languages and a location, uptake bar, duplicate refused, delete', async () => {
    await openPage('products');
    await page.fill('#product-q', 'SSL');
    await page.click('#product-search button[type="submit"]');
    await waitFor('one search result', async () => (await page.locator('#products-list article').count()) === 1);
    assert.equal(await page.textContent('#products-list article h3'), 'Firefox-139.0-SSL');
    await page.fill('#product-q', '');
    await page.click('#product-search button[type="submit"]');
    await waitFor('every product', async () => (await page.locator('#products-list article').count()) === 4);

    await page.click('#product-add');
    await page.fill('#product-name', 'E2E-1.0');
    await page.fill('#product-languages', 'en-US de');
    await page.click('#product-form button[type="submit"]');
    const card = page.locator('article[data-product="E2E-1.0"]');
    await card.waitFor();
    assert.equal(await card.locator('.chips li').allTextContents().then((l) => l.join(' ')), 'en-US de');

    await card.locator('button', {hasText: 'Add location'}).click();
    await page.fill('#location-os', 'win');
    await page.fill('#location-path', '/e2e/:lang/setup.exe');
    await page.click('#location-form button[type="submit"]');
    await page.locator('article[data-product="E2E-1.0"] [role="meter"]').waitFor();
    assert.match(await page.locator('article[data-product="E2E-1.0"] .uptake').textContent(), /100% \(\d+ \/ \d+ weight\)/);

    await page.click('#product-add');
    await page.fill('#product-name', 'E2E-1.0');
    await page.click('#product-form button[type="submit"]');
    await page.waitForSelector('#product-name[aria-invalid="true"]');
    assert.ok((await page.textContent('#product-name-error')).length > 0);
    await page.keyboard.press('Escape');
    await page.locator('article[data-product="Firefox-139.0"]').scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('products');

    await page.click('button[aria-label="Delete product E2E-1.0"]');
    await page.click('#confirm-ok');
    await page.locator('article[data-product="E2E-1.0"]').waitFor({state: 'detached'});
  });

  await t.test('products: HTTPS-only and Active checkboxes, alias delete with confirmation (keyboard)', async () => {
    const status = async (q) => (await fetch(`${PUBLIC}/?${q}`, {redirect: 'manual'})).status;
    const schemes = async (n) => {
      const seen = new Set();
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${PUBLIC}/?product=AnyLang-1.0&os=linux64&print=yes`);
        assert.equal(res.status, 200);
        seen.add((await res.text()).trim().split('://')[0]);
      }
      return [...seen].sort().join(',');
    };
    const product = async (name) => (await adminJson(`/api/v1/products?q=${encodeURIComponent(name)}`)).products.find((p) => p.name === name);
    const ssl = 'input[aria-label="HTTPS mirrors only: AnyLang-1.0"]';
    const active = 'input[aria-label="Active: AnyLang-1.0"]';
    assert.equal(await schemes(10), 'http');
    assert.equal(await page.locator(ssl).isChecked(), false);
    await page.focus(ssl);
    await page.keyboard.press('Space');
    await waitFor('ssl_only saved', async () => (await product('AnyLang-1.0')).ssl_only === true);
    // the old box stays (disabled) until the page has reloaded: wait for the new, enabled one
    await waitFor('the re-rendered checkbox', async () => (await page.locator(ssl).isEnabled()) && (await page.locator(ssl).isChecked()));
    await waitFor('focus back on the checkbox', async () =>
      (await page.evaluate(() => document.activeElement.getAttribute('aria-label'))) === 'HTTPS mirrors only: AnyLang-1.0');
    assert.equal(await schemes(10), 'https');
    await page.keyboard.press('Space');
    await waitFor('ssl_only cleared', async () => (await product('AnyLang-1.0')).ssl_only === false);

    assert.equal(await status('product=AnyLang-1.0&os=linux64'), 302);
    await page.click(active);
    await waitFor('inactive', async () => (await product('AnyLang-1.0')).active === false);
    await waitFor('the inactive note', async () => (await page.textContent('article[data-product="AnyLang-1.0"] .meta')).includes('404'));
    assert.equal(await status('product=AnyLang-1.0&os=linux64'), 404);
    await page.click(active);
    await waitFor('active again', async () => (await product('AnyLang-1.0')).active === true);
    assert.equal(await status('product=AnyLang-1.0&os=linux64'), 302);
    // the list re-renders after the save and puts the focus back on the checkbox: let it settle
    // before moving the focus elsewhere, or the re-render takes it back (seen under load)
    await waitFor('the re-rendered Active checkbox', async () => (await page.locator(active).isEnabled()) && (await page.locator(active).isChecked()));
    await waitFor('focus back on the Active checkbox', async () =>
      (await page.evaluate(() => document.activeElement.getAttribute('aria-label'))) === 'Active: AnyLang-1.0');

    const chip = page.locator('article[data-product="Firefox-139.0"] .chips li', {hasText: 'firefox-latest'});
    assert.equal(await chip.count(), 1);
    await page.focus('button[aria-label="Delete alias firefox-latest"]');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-cancel');
    await page.keyboard.press('Enter');
    assert.equal(await chip.count(), 1);
    assert.equal(await status('product=firefox-latest'), 302);
    await page.click('button[aria-label="Delete alias firefox-latest"]');
    await page.click('#confirm-ok');
    await chip.waitFor({state: 'detached'});
    await waitFor('focus on Add alias', async () =>
      (await page.evaluate(() => document.activeElement.getAttribute('aria-label'))) === 'Add alias for Firefox-139.0');
    assert.equal(await status('product=firefox-latest'), 404);
    // put it back through the Add alias dialog
    await page.keyboard.press('Enter');
    await page.fill('#alias-name', 'firefox-latest');
    await page.click('#alias-form button[type="submit"]');
    await chip.waitFor();
    assert.equal(await status('product=firefox-latest'), 302);
  });

  await t.test('crash backlog: a crash counted while held, then delivered', async () => {
    await fetch(`${SINK}/control?hold=1`);
    const id = await submitCrash('E2E');
    await openPage('backlog');
    await waitFor('the waiting crash', async () => (await page.textContent('#waiting')).includes(id), 15000);
    assert.equal(await page.textContent('#card-pending dd'), '1');
    await fetch(`${SINK}/control?hold=0`);
    await waitFor('delivery', async () => (await adminJson('/api/v1/spool')).count === 0);
    await page.click('#refresh');
    await waitFor('an empty backlog', async () => (await page.textContent('#card-pending dd')) === '0');
    const upstream = await page.textContent('#upstreams tbody tr');
    assert.match(upstream, /antenna/);
    assert.match(await page.textContent('#backlog-chart figcaption'), /1 crashes received, 1 delivered/);
    assert.ok(await page.locator('#backlog-chart svg rect').count() >= 2);
  });

  await t.test('dead letters render as text (no XSS), show with focus handling, purge with confirmation', async () => {
    const id = await submitCrash(`<script>window.__xss=3</script>${DEAD_MARKER}`);
    await waitFor('the dead letter', async () => (await adminJson('/api/v1/spool')).dead_letters.count === 1);
    await page.click('#refresh');
    const dlRow = page.locator(`#deadletters tr[data-crash="${id}"]`);
    await dlRow.waitFor();
    const reason = await dlRow.locator('td.reason').textContent();
    assert.ok(reason.includes('<img src=x onerror='), reason);
    assert.equal(await page.locator('#deadletters img, #deadletters script').count(), 0);

    await page.click(`button[aria-label="Show ${id}"]`);
    // the dialog opens once the dead letter has been fetched
    await waitFor('the dead-letter dialog', async () => page.locator('#deadletter-dialog').evaluate((d) => d.open));
    await page.locator('#deadletter-body pre').waitFor();
    const raw = await page.textContent('#deadletter-body pre');
    assert.ok(raw.includes('<script>window.__xss=3</script>'), raw);
    assert.equal(await page.locator('#deadletter-body script').count(), 0);
    await shot('backlog-deadletter');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), `Show ${id}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('backlog', true);

    await page.click(`button[aria-label="Purge ${id}"]`);
    await page.click('#confirm-ok');
    await dlRow.waitFor({state: 'detached'});
    assert.equal((await adminJson('/api/v1/spool')).dead_letters.count, 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(pageErrors, []);
  });
});
