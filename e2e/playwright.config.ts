/**
 * End-to-end tests in Debian's headless Chromium with WebGPU on SwiftShader (no GPU needed; see
 * docs/webgpu-ci.md). The app is the production build under `vite preview`; the model
 * comes from hubServer.ts (started in globalSetup), a different origin like the real hub.
 */
import { defineConfig } from '@playwright/test';
import { APP_PORT, APP_URL, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS, DIST_DIR, REPO_DIR } from './env';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: process.env.KLEINBILD_TEST_RESULTS ?? '../test-results',
  // SwiftShader runs the tiny model at roughly 1 GFLOP/s: a 64×64 generation takes minutes.
  timeout: 600_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  globalSetup: './globalSetup.ts',
  use: {
    baseURL: APP_URL,
    browserName: 'chromium',
    headless: true,
    acceptDownloads: true,
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_WEBGPU_ARGS },
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `npx vite build --outDir ${DIST_DIR} && npx vite preview --outDir ${DIST_DIR} --port ${APP_PORT} --strictPort`,
    cwd: REPO_DIR,
    url: APP_URL,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
