/**
 * The security headers (securityHeaders.ts) on every kind of file the preview server sends, and the
 * app working under them: the first-run card, the engine worker (WebGPU), IndexedDB, the service
 * worker and a model loaded from the hub-like server (another origin, over connect-src), without
 * a single Content-Security-Policy violation.
 */
import { expect, test } from '@playwright/test';
import { SECURITY_HEADERS } from '../securityHeaders';
import { expectModelReady, openModelPanels } from './app';
import { APP_URL, HUB_URL } from './env';

test('every response carries the security headers', async ({ request }) => {
  const html = await request.get('/');
  const js = (await html.text()).match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  expect(js).toBeTruthy();
  for (const path of ['/', js as string, '/manifest.webmanifest', '/sw.js', '/kiosk.json', '/no/such/page']) {
    const res = await request.get(path);
    const headers = res.headers();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(headers[name.toLowerCase()], `${path}: ${name}`).toBe(value);
  }
});

test('the app runs under the policy: no violation while it starts, checks the GPU and loads a model from another origin', async ({ page }) => {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const reports: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) reports.push(m.text());
  });
  await page.goto('/');
  await expect(page.getByTestId('first-run-fit')).toHaveAttribute('data-verdict', 'software', { timeout: 60_000 });
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, 180_000);
  await expect(page.getByRole('alert')).toBeEmpty();
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
  expect(reports).toEqual([]);
  // the policy is in force (not just sent): an inline script is refused
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.inlineRan = true';
    document.body.append(s);
    return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
  });
  expect(ran).toBe(false);
});

test('the page cannot be framed by another site', async ({ page }) => {
  // a page of another origin that frames the app (served by Playwright, no server needed)
  await page.route('http://framer.test/', (route) => route.fulfill({ contentType: 'text/html', body: `<iframe src="${APP_URL}/"></iframe>` }));
  await page.goto('http://framer.test/');
  await expect(page.locator('iframe')).toHaveCount(1);
  // frame-ancestors 'none': the browser shows its error page in the frame instead of the app
  await page.waitForTimeout(2000);
  await expect(page.frameLocator('iframe').locator('#root')).toHaveCount(0);
  // the same page framed without the policy would show it: the check can fail
  await page.route(`${APP_URL}/`, async (route) => {
    const res = await route.fetch();
    const headers = { ...res.headers() };
    delete headers['content-security-policy'];
    delete headers['x-frame-options'];
    await route.fulfill({ response: res, headers });
  });
  await page.goto('http://framer.test/');
  await expect(page.frameLocator('iframe').locator('#root')).toHaveCount(1);
});
