// Usage: node scripts/fix-lock.cjs package-lock.json   (after any npm install that touches rollup)
// Adds lock entries for rollup's platform binaries that the local npm mirror does not serve (npm ci
// needs every optional dependency listed; they are never installed on linux-x64).
const fs = require('fs');
const path = process.argv[2];
const l = JSON.parse(fs.readFileSync(path));
const roll = l.packages['node_modules/rollup'];
for (const [name, version] of Object.entries(roll.optionalDependencies)) {
  const key = `node_modules/${name}`;
  if (l.packages[key]) continue;
  const plat = name.replace('@rollup/rollup-', '');
  const [os, cpuRaw, abi] = plat.split('-');
  const cpu = cpuRaw === 'arm' ? 'arm' : cpuRaw;
  const e = { version, cpu: [cpu], dev: true, license: 'MIT', optional: true, os: [os] };
  if (abi === 'musl' || abi === 'musleabihf') e.libc = ['musl'];
  else if (abi === 'gnu' || abi === 'gnueabihf') e.libc = ['glibc'];
  l.packages[key] = e;
}
const sorted = {};
for (const k of Object.keys(l.packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1))) sorted[k] = l.packages[k];
l.packages = sorted;
fs.writeFileSync(path, JSON.stringify(l, null, 2) + '\n');
