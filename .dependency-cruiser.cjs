/**
 * The import rules of src/ (checked by `npm run check:deps`, part of scripts/test-all.sh and CI).
 *
 * Layers, bottom to top; a module imports only from its own layer and the layers below it:
 *   util, errors.ts  → gpu → ops → weights → model → pipeline → catalog → store → worker → safety → cli, ui, sdk
 *   → server → main.tsx
 * - util/ (assert, dtypes, quantized layout, RNG) and errors.ts are leaves every layer may use;
 * - gpu/: device, buffers, pipeline cache; ops/: the op set and its GPU/CPU backends;
 * - weights/: sources, checkpoints, packs, conversion; model/: Qwen3, transformer, VAE, tensor list;
 * - pipeline/: tokenize → schedule → Euler loop → decode, and the engine's request/result types;
 * - catalog/: the models offered and their sizes; store/: the browser's IndexedDB model store;
 * - worker/: the Comlink contract and the engine worker; safety/: the output image classifier
 *   (@huggingface/transformers) the CLI and the server run on each image; cli/ (Node), ui/ (React) and sdk/ (the AI SDK
 *   provider and the public engine API, browser and Node) on top of it;
 * - server/: the OpenAI-compatible HTTP server (Node), on the CLI's pipeline loading and image codecs;
 *   it never imports ui/ or sdk/.
 * testing/ holds test helpers: only tests import it, and it may import any engine layer.
 * Tests (*.test.ts) may import across layers (a kernel test builds RoPE tables from model/, say);
 * cycles are forbidden everywhere. That every import resolves is `npm run typecheck`'s job.
 */
const LAYERS = [
  ['util', 'errors'],
  ['gpu'],
  ['ops'],
  ['weights'],
  ['model'],
  ['pipeline'],
  ['catalog'],
  ['store'],
  ['worker'],
  ['safety'],
  ['cli', 'ui', 'sdk'],
  ['server'],
  ['main'],
];

/** The path pattern of a layer's modules. */
const pathOf = (name) => (name === 'errors' ? '^src/errors\\.ts$' : name === 'main' ? '^src/main\\.tsx$' : `^src/${name}/`);
const anyOf = (names) => names.map(pathOf).join('|');
const TEST = '\\.test\\.ts$';

/** For each layer: it must not import any layer above it, nor a sibling in its own row (cli ↛ ui). */
const layerRules = LAYERS.flatMap((row, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return row.map((name) => {
    const forbidden = [...above, ...row.filter((n) => n !== name)];
    return forbidden.length === 0
      ? null
      : {
          name: `layer-${name}`,
          comment: `${name} imports only from the layers below it (see the order at the top of .dependency-cruiser.cjs)`,
          severity: 'error',
          from: { path: pathOf(name), pathNot: TEST },
          to: { path: anyOf(forbidden) },
        };
  });
}).filter(Boolean);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'modules must not import each other in a loop',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'ui-no-engine-internals',
      comment: 'the UI talks to the engine through worker/api.ts (and pipeline/catalog/store types), never to gpu/, ops/ or model/',
      severity: 'error',
      from: { path: '^src/ui/' },
      to: { path: '^src/(gpu|ops|model)/' },
    },
    {
      name: 'testing-only-from-tests',
      comment: 'src/testing/ is test support: the app, the CLI and the engine never import it',
      severity: 'error',
      from: { path: '^src/', pathNot: `${TEST}|^src/testing/` },
      to: { path: '^src/testing/' },
    },
    {
      name: 'server-no-ui-or-sdk',
      comment: 'the server builds on the CLI (Node); the React UI and the SDK are clients, never its parts',
      severity: 'error',
      from: { path: '^src/server/', pathNot: TEST },
      to: { path: '^src/(ui|sdk)/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^shaders/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.json'], conditionNames: ['import', 'require', 'node', 'default', 'types'], exportsFields: ['exports'], mainFields: ['module', 'main', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
