// The GPU check's table (bench/gpu-check.sh step 5): reads the bench, plan and torch JSON files in a
// folder and prints Markdown. Plain Node, no dependencies.
// Usage: node bench/gpu-check-report.mjs DIR
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '/tmp/gpu-check';
const read = (f) => {
  try {
    return JSON.parse(readFileSync(join(dir, f), 'utf8'));
  } catch {
    return null;
  }
};
const files = readdirSync(dir);
const runs = files.filter((f) => /^bench-\d+-[\w-]+\.json$/.test(f)).map((f) => f.replace(/^bench-|\.json$/g, '')).sort();
const f1 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(1));
const gib = (b) => (b / 2 ** 30).toFixed(2);
const out = [];
const smi = files.includes('nvidia-smi.csv') ? readFileSync(join(dir, 'nvidia-smi.csv'), 'utf8') : '';
const gpu = smi.trim().split('\n').slice(1).join('; ');
out.push(`# GPU check: ${gpu || 'unknown GPU'}`, '');
out.push('| run | adapter profile (reductions) | encode ms | step ms (median) | decode ms | total ms | roofline ms (plan) | measured / roofline | peak GiB (plan) | peak live GiB (measured) | dispatches/step |');
out.push('|---|---|---|---|---|---|---|---|---|---|---|');
for (const run of runs) {
  const b = read(`bench-${run}.json`);
  const p = read(`plan-${run}.json`);
  if (!b) {
    out.push(`| ${run} | failed | | | | | | | | | |`);
    continue;
  }
  const steps = b.stages.filter((s) => s.name.startsWith('step')).map((s) => s.ms).sort((x, y) => x - y);
  const med = steps[Math.floor(steps.length / 2)];
  const roof = p && b.profile ? p.roofline[b.profile] : null;
  out.push(
    `| ${run} | ${b.profile ?? 'none'} (${b.subgroups ? 'subgroups' : 'workgroup'}) | ${f1(b.stages[0].ms)} | ${f1(med)} | ${f1(b.stages.at(-1).ms)} | ${f1(b.totalMs)} | ${f1(roof)} | ${roof ? (b.totalMs / roof).toFixed(1) + '×' : 'n/a'} | ` +
      `${p ? gib(p.peakBytes) : 'n/a'} | ${b.peakBytes !== null ? gib(b.peakBytes) : 'n/a'} | ${p ? p.dispatchesPerStep : 'n/a'} |`,
  );
}
out.push('');
for (const size of [...new Set(runs.map((r) => Number(r.split('-')[0])))]) {
  const t = read(`torch-${size}.json`);
  const b = read(`bench-${size}-q4-f16.json`) ?? read(`bench-${size}-q4-f32.json`) ?? read(`bench-${size}-bf16-auto.json`);
  if (!t) continue;
  const ours = b ? b.stages.filter((s) => s.name.startsWith('step')).map((s) => s.ms).sort((x, y) => x - y)[0] : null;
  out.push(`PyTorch ${t.torch} bf16 eager, one step at ${t.width}×${t.height}: ${f1(t.ms)} ms (${t.tflop.toFixed(1)} TFLOP, ${t.tflops_per_s.toFixed(0)} TFLOP/s); ours (fastest step): ${f1(ours)} ms${ours ? ` = ${(ours / t.ms).toFixed(1)}× PyTorch` : ''}.`);
}
for (const run of runs) {
  const b = read(`bench-${run}.json`);
  if (!b?.kernels) continue;
  out.push('', `## ${run}: per kernel (timed run; roofline on ${b.profile ?? 'no profile'})`, '');
  out.push('| kernel | count | ms | GFLOP/s | GB/s | roofline ms | ms / roofline |');
  out.push('|---|---|---|---|---|---|---|');
  for (const [name, k] of Object.entries(b.kernels).slice(0, 12)) {
    const ms = k.ms;
    out.push(`| ${name} | ${k.count} | ${f1(ms)} | ${ms ? (k.flops / 1e6 / ms).toFixed(0) : 'n/a'} | ${ms ? (k.bytes / 1e6 / ms).toFixed(0) : 'n/a'} | ${k.rooflineMs?.toFixed(2) ?? 'n/a'} | ${ms && k.rooflineMs ? (ms / k.rooflineMs).toFixed(1) : 'n/a'} |`);
  }
}
console.log(out.join('\n'));
