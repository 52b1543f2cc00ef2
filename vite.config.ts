/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// One config for the app, the Node CLI runner (scripts/run.mjs) and the Vitest node tests.
export default defineConfig({
  plugins: [react()],
  resolve: { alias: { '@shaders': fileURLToPath(new URL('./shaders', import.meta.url)) } },
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
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
