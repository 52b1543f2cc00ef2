/**
 * Accessibility and layout of the main screen, without generating: axe-core (WCAG 2.2 A/AA rules,
 * colour contrast included) in both themes and in the capability dialog, accessible names of every
 * control, the live and alert regions, keyboard order and the absence of keyboard traps, no
 * horizontal scrolling from 360 px to 4K, the theme choice and its persistence. Screenshots of the
 * main screen (phone and desktop, light and dark) go to this test's output folder (test-results).
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** Every role a control can have on this page. */
const CONTROL_ROLES = ['button', 'textbox', 'spinbutton', 'combobox', 'checkbox', 'radio', 'slider', 'link'] as const;

/** Opens the app and waits until the engine worker has answered the WebGPU probe. */
async function open(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await expect(page.getByTestId('adapter')).toBeVisible();
  await expect(page.getByTestId('first-run')).toBeVisible(); // nothing stored: the first-run card leads
}

/** axe-core's WCAG violations as "rule-id: selector, …" strings (empty when there are none). */
async function axeViolations(page: Page, include?: string): Promise<string[]> {
  let builder = new AxeBuilder({ page }).withTags(WCAG_TAGS);
  if (include) builder = builder.include(include);
  const { violations } = await builder.analyze();
  return violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The body's background colour as the user sees it. */
function background(page: Page): Promise<string> {
  return page.evaluate(() => getComputedStyle(document.body.parentElement ?? document.body).backgroundColor);
}

const LIGHT_BG = 'rgb(246, 247, 249)';
const DARK_BG = 'rgb(17, 20, 23)';

test('no WCAG 2.2 A/AA violations in light and dark, nor in the capability dialog', async ({ page }) => {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await open(page);
    expect(await background(page)).toBe(scheme === 'light' ? LIGHT_BG : DARK_BG);
    expect(await axeViolations(page), scheme).toEqual([]);
  }
  await page.getByTestId('caps-button').click();
  await expect(page.getByTestId('caps-dialog')).toBeVisible();
  expect(await axeViolations(page, '[data-testid="caps-dialog"]')).toEqual([]);
});

test('every control has an accessible name; the live and alert regions are in place', async ({ page }) => {
  await open(page);
  await page.locator('details').evaluateAll((all) => all.forEach((d) => ((d as HTMLDetailsElement).open = true))); // their controls too
  let controls = 0;
  for (const role of CONTROL_ROLES) {
    for (const control of await page.getByRole(role).all()) {
      await expect(control, `${role} ${await control.evaluate((e) => e.outerHTML.slice(0, 120))}`).toHaveAccessibleName(/\S/);
      controls++;
    }
  }
  expect(controls).toBeGreaterThan(10);
  // visible file inputs; a hidden one (the folder picker) is opened by a named button and is not in the accessibility tree
  for (const file of await page.locator('input[type="file"]:not([hidden])').all()) await expect(file).toHaveAccessibleName(/\S/);
  await expect(page.getByRole('button', { name: 'Choose a folder…' })).toBeVisible();

  const live = page.getByTestId('live-status');
  await expect(live).toHaveAttribute('role', 'status');
  await expect(live).toHaveAttribute('aria-live', 'polite');
  await expect(live).toHaveAttribute('aria-atomic', 'true');
  await expect(page.getByRole('alert')).toHaveCount(1); // errors: present while empty, so the first one is read out
  // Disabled Generate says why, through its description.
  await expect(page.getByTestId('generate-button')).toHaveAccessibleDescription('Load a model first.');
});

test('Tab reaches the main controls in reading order, leaves no trap, and the dialog works by keyboard', async ({ page }) => {
  await open(page);
  await expect(page.getByTestId('first-run-download')).toBeEnabled();
  const order = ['caps-button', 'theme', 'first-run-download', 'prompt', 'size-aspect', 'width', 'steps', 'seed', 'reference-file'];
  const seen: string[] = [];
  let first: string | null = null;
  let wrapped = false;
  for (let i = 0; i < 120 && !wrapped; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const e = document.activeElement;
      return e && e !== document.body ? e.getAttribute('data-testid') ?? `${e.tagName}:${e.textContent?.slice(0, 20) ?? ''}` : null;
    });
    if (id === null) continue; // focus left the page for the browser UI
    if (first === null) first = id;
    else if (id === first) wrapped = true;
    else seen.push(id);
  }
  expect(wrapped, `Tab never came back to the first control; got ${seen.join(', ')}`).toBe(true);
  const focusOrder = [first, ...seen];
  const positions = order.map((id) => focusOrder.indexOf(id));
  expect(positions.every((p) => p >= 0) && positions.every((p, k) => k === 0 || p > (positions[k - 1] ?? -1)),
    `focus order: ${focusOrder.join(', ')}`).toBe(true);

  // The capability dialog: opens with Enter, focus moves in, Escape closes it, focus returns.
  await page.getByTestId('caps-button').focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByTestId('caps-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('caps-architecture')).toHaveText('swiftshader');
  await expect(dialog.getByTestId('caps-kind')).toContainText('CPU');
  await expect(dialog.getByTestId('caps-fallback')).toHaveText('yes');
  await expect(dialog.getByTestId('caps-f16')).toContainText('no');
  await expect(dialog.getByTestId('caps-subgroups')).toHaveText('yes, size 4; used by the reductions'); // Chromium 144+ has WGSL subgroup_id
  await expect(dialog.getByTestId('caps-limit-maxStorageBufferBindingSize')).toHaveText('1.00 GiB (1,073,741,824)');
  await expect(dialog.getByTestId('caps-limit-maxComputeInvocationsPerWorkgroup')).toHaveText('256');
  expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('caps-button')).toBeFocused();
});

test('no horizontal scrolling from a 360 px phone to a 4K screen', async ({ page }) => {
  for (const [width, height] of [[360, 740], [390, 844], [768, 1024], [1440, 900], [3840, 2160]] as const) {
    await page.setViewportSize({ width, height });
    await open(page);
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(scroll, `${width}×${height}`).toBeLessThanOrEqual(client);
  }
  // The dialog fits a phone too.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.getByTestId('caps-button').click();
  const box = await page.getByTestId('caps-dialog').boundingBox();
  expect(box && box.x >= 0 && box.x + box.width <= 360).toBe(true);
});

test('the theme follows the system, a choice overrides it and survives a reload', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await open(page);
  const theme = page.getByRole('combobox', { name: 'Theme' });
  await expect(theme).toHaveValue('system');
  expect(await background(page)).toBe(DARK_BG);

  await theme.selectOption('light');
  expect(await background(page)).toBe(LIGHT_BG);
  await page.reload();
  await expect(theme).toHaveValue('light');
  expect(await background(page)).toBe(LIGHT_BG);

  await page.emulateMedia({ colorScheme: 'light' });
  await theme.selectOption('dark');
  expect(await background(page)).toBe(DARK_BG);
  await theme.selectOption('system');
  expect(await background(page)).toBe(LIGHT_BG);
  await page.reload();
  await expect(theme).toHaveValue('system');
});

test('screenshots of the main screen: phone and desktop, light and dark', async ({ page }, testInfo) => {
  for (const [device, width, height] of [['phone', 390, 844], ['desktop', 1440, 900]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
      await open(page);
      const path = testInfo.outputPath(`main-${device}-${scheme}.png`);
      await page.screenshot({ path, fullPage: true });
      await testInfo.attach(`main-${device}-${scheme}`, { path, contentType: 'image/png' });
    }
  }
});
