// File-size budget (docs/style.md rule 10): fails when a git-tracked .ts/.tsx/.wgsl file exceeds
// 500 lines, warns above 300. Usage: node scripts/check-size.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const FAIL_ABOVE = 500;
const WARN_ABOVE = 300;

const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.tsx', '*.wgsl'], { encoding: 'utf8' })
  .split('\0')
  .filter(Boolean);

let failed = 0;
let warned = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // tracked but deleted in the working tree
  }
  const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > FAIL_ABOVE) {
    console.error(`error: ${file}: ${lines} lines (limit ${FAIL_ABOVE})`);
    failed++;
  } else if (lines > WARN_ABOVE) {
    console.warn(`warning: ${file}: ${lines} lines (aim for ≤ ${WARN_ABOVE})`);
    warned++;
  }
}
console.log(`check:size: ${files.length} files, ${warned} above ${WARN_ABOVE} lines, ${failed} above ${FAIL_ABOVE}`);
process.exit(failed ? 1 : 0);
