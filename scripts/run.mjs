// Runs a TypeScript entry (CLI, bench) through Vite's SSR module loader so that it sees the same
// `?raw` WGSL imports as the app and the tests.
// Usage: node scripts/run.mjs <entry.ts> [args…]; the entry exports `main(args): Promise<number>`.
import { createServer } from 'vite';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run.mjs <entry.ts> [args…]');
  process.exit(2);
}
const server = await createServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  logLevel: 'error',
  server: { middlewareMode: true, hmr: false, ws: false },
  appType: 'custom',
  optimizeDeps: { noDiscovery: true, include: [] },
});
let code = 1;
try {
  const mod = await server.ssrLoadModule(`/${entry.replace(/^\.?\//, '')}`);
  code = await mod.main(args);
} catch (e) {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
} finally {
  await server.close();
}
process.exit(typeof code === 'number' ? code : 0);
