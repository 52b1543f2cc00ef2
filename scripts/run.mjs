// Runs a TypeScript entry (CLI, bench) through Vite's module runner so that it sees the same
// aliases and `?raw` WGSL imports as the app and the tests. Usage: node scripts/run.mjs <entry.ts> [args…]
import { runnerImport } from 'vite';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run.mjs <entry.ts> [args…]');
  process.exit(2);
}
process.argv = [process.argv[0], entry, ...args];
const { module } = await runnerImport(entry, { configFile: new URL('../vite.config.ts', import.meta.url).pathname, logLevel: 'error' });
const code = await module.main(args);
process.exit(typeof code === 'number' ? code : 0);
