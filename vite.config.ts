/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { SECURITY_HEADERS, headersFile } from './securityHeaders';
import { SAFETY_RUNTIME } from './src/safety/browser/files';

const DESCRIPTION = 'FLUX.2 [klein] 4B image generation in the browser on your GPU via WebGPU.';

// One config for the app, the Node CLI runner (scripts/run.mjs) and the Vitest node tests.
export default defineConfig({
  plugins: [
    react(),
    // The security headers for static hosts that read a `_headers` file (securityHeaders.ts).
    {
      name: 'kleinbild-headers-file',
      apply: 'build',
      generateBundle() {
        this.emitFile({ type: 'asset', fileName: '_headers', source: headersFile() });
      },
    },
    // Offline app shell: a Workbox service worker precaches the built app (the UI, the engine worker
    // bundle with its inlined WGSL, the icons) and answers navigations with index.html. The runtime
    // caches are kiosk.json's and ONNX Runtime Web's files (below); hub requests and model bytes always go to the network (the
    // model lives in IndexedDB, never in the service worker's caches).
    VitePWA({
      registerType: 'prompt', // a new version waits until the user presses Reload (src/ui/UpdatePrompt.tsx)
      injectRegister: false, // registered by useRegisterSW in UpdatePrompt
      includeManifestIcons: false, // globPatterns below already take every file of public/
      manifest: {
        name: 'Kleinbild',
        short_name: 'Kleinbild',
        description: DESCRIPTION,
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: '#1f2937',
        background_color: '#111417',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,wgsl}'], // the plugin adds manifest.webmanifest itself
        globIgnores: ['**/safetyWorker-*.js'], // runtime-cached instead (below)
        navigateFallback: 'index.html',
        // The engine worker bundle grows with the kernels; Workbox silently skips files over its 2 MiB default.
        maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
        cleanupOutdatedCaches: true,
        runtimeCaching: [
          {
            // The safety checker's worker (transformers.js, ≈ 555 kB) and ONNX Runtime Web's .wasm/.mjs
            // (27 MB): not precached, fetched only when the checker is turned on, then kept for offline
            // use. Same origin, these built assets only (hashed names: a new build is a new URL).
            urlPattern: SAFETY_RUNTIME, // a RegExp: Workbox matches other origins only at the URL's start, so never here
            handler: 'CacheFirst',
            options: { cacheName: 'kleinbild-safety-runtime' },
          },
          {
            // The kiosk settings are edited in place by whoever runs the kiosk: fresh when online,
            // the last copy offline. Same origin and this one file name only (never model files).
            urlPattern: ({ url, sameOrigin }) => sameOrigin && url.pathname.endsWith('/kiosk.json'),
            handler: 'NetworkFirst',
            options: { cacheName: 'kleinbild-kiosk-config', networkTimeoutSeconds: 3 },
          },
        ],
      },
    }),
  ],
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1', headers: { ...SECURITY_HEADERS } },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 900_000, // the golden CLI runs take ~2–3 min each on SwiftShader
    hookTimeout: 300_000,
    // Dawn keeps one process-wide instance; one worker keeps SwiftShader off both cores twice over.
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
