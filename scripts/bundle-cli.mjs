// Bundles the Node CLIs (bench, plan, generate) into self-contained ES modules under dist-cli/, for a
// machine that has Node but not this repository's node_modules (bench/gpu-check.sh on a GPU machine):
// everything is inlined (WGSL included) except the `webgpu` package (Dawn's native addon), which
// the caller puts beside them as node_modules/webgpu, and `@huggingface/transformers` (ONNX Runtime and
// sharp, native addons too), imported only by `generate --safety`, which then needs it installed beside them.
// Usage: node scripts/bundle-cli.mjs [outDir]   (default dist-cli)
import { build } from 'vite';
import { fileURLToPath } from 'node:url';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = process.argv[2] ?? join(root, 'dist-cli');
const entries = { bench: 'src/cli/bench.ts', plan: 'src/cli/plan.ts', generate: 'src/cli/generate.ts' };
await build({
  root,
  configFile: false,
  publicDir: false,
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    rollupOptions: {
      input: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(root, v)])),
      external: ['webgpu', '@huggingface/transformers'],
      output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs' },
    },
  },
  ssr: { noExternal: true, external: ['webgpu', '@huggingface/transformers'] },
});
// `node dist-cli/run.mjs bench --config …` runs the CLI's main(args) as scripts/run.mjs does for sources
await writeFile(
  join(outDir, 'run.mjs'),
  `const [name, ...args] = process.argv.slice(2);\nconst mod = await import(\`./\${name}.mjs\`);\nprocess.exitCode = await mod.main(args).catch((e) => { console.error(e instanceof Error ? \`\${e.name}: \${e.message}\` : e); return 1; });\n`,
);
console.log(`bundled ${Object.keys(entries).join(', ')} into ${outDir}`);
