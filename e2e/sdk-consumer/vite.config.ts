/**
 * The consumer app's own Vite config: what an app that depends on `kleinbild` needs, which is
 * nothing special (no alias for the engine's WGSL, no worker options: Vite's defaults bundle the
 * engine worker, shaders inlined, as one same-origin file). e2e/sdk.spec.ts builds it with a
 * `resolve.alias` 'kleinbild/sdk' → src/sdk/index.ts standing in for the package's `exports` entry.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  preview: { host: '127.0.0.1' },
});
