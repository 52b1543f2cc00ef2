// Measures what one safety check costs on this machine, without the hub: the default classifier
// (AdamCodd/vit-base-nsfw-detector) is a ViT-B/16 image classifier at 384×384 (google/vit-base-patch16-384
// fine-tune, 2 labels), and its cost per image depends on its architecture and shapes, not on its
// weight values. So this writes a graph with exactly that architecture and random weights (fixed seed),
// in fp32 (as the export's onnx/model.onnx) and dynamically quantized to 8 bits (as onnx/model_quantized.onnx,
// the q8 file the checker uses by default), and times it on the runtimes the app uses:
//
//   node     onnxruntime-node, CPU EP (CLI and server): default intra-op threads, and 1 thread
//   web      onnxruntime-web's WASM backend in Node, 1 thread (the browser without cross-origin
//            isolation): `onnxruntime-web` (ort-wasm-simd-threaded.wasm) and `onnxruntime-web/webgpu`
//            with ort-wasm-simd-threaded.asyncify.wasm, the build the app's safety worker loads.
//            V8 compiles WASM lazily (Liftoff first, TurboFan for hot functions in the background),
//            so the first runs of a big module can be much slower: every run's time is printed too
//   pipeline transformers.js `pipeline('image-classification')` on a folder in the transformers.js
//            layout holding these files (Node, so onnxruntime-node with default threads), fed a
//            1024×1024 RGBA image as src/safety/classify.ts does: preprocessing alone (RawImage →
//            ViTImageProcessor: resize to 384² with sharp, rescale, normalise) and the whole check
//
// Every configuration runs in a child process of its own (no shared heap, a clean peak RSS): session
// creation from the file's bytes, one warm-up run, then --runs timed runs (median and min). Checks: the
// logits are finite, and the fp32 logits agree with onnxruntime-node's on every runtime (max |Δ| ≤
// 1e-3); for q8 the differences are printed, not checked (ORT's fused x86 int8 kernels and the WASM
// ones round differently, and one flipped rounding in a dynamic quantization moves the layers after it).
// Exit code 1 when a check fails or a runtime rejects a model. Models, input and config go to a temp
// folder (os.tmpdir()), removed at the end unless --keep. The machine may be shared: the load average is
// printed at the start and the end.
//
// Graph (as optimum exports ViTForImageClassification; ONNX opset 17, IR 8):
//   pixel_values [1,3,384,384] → Conv 16×16/16 → [1,768,24,24] → Reshape [1,768,576] → Transpose
//   → [1,576,768] → Concat(CLS) → [1,577,768] → + position embeddings → 12 × {
//     LayerNormalization (eps 1e-12) → q,k,v = MatMul+Add → Reshape [1,577,12,64] → Transpose →
//     QKᵀ / 8 → Softmax → ·V → Transpose → Reshape → MatMul+Add → + residual;
//     LayerNormalization → MatMul+Add 768→3072 → GELU (0.5·x·(1+erf(x/√2))) → MatMul+Add →768 → + residual }
//   → LayerNormalization → Gather CLS → MatMul+Add 768→2 → logits [1,2]
// ≈ 55.5 GMAC per image. The q8 graph is what transformers.js' converter (scripts/convert.py +
// quantize.py, ONNX Runtime's dynamic IntegerOps quantizer) makes of it for a ViT: weights uint8 (the
// model has a Conv), per output channel with reduce_range (7-bit) for MatMuls, per tensor for the Conv;
// activations quantized at run time: DynamicQuantizeLinear → MatMulInteger / ConvInteger → Cast →
// Mul by x_scale·w_scale → Add bias. MatMuls with a non-constant B (QKᵀ, ·V) stay fp32.
//
// Usage: node scripts/safety-cost.mjs [--runs N] [--models fp32,q8] [--skip web,pipeline] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { onnxModelType } from './onnxProto.mjs';

// ---------------------------------------------------------------------------------------------
// Shapes (google/vit-base-patch16-384 with a 2-label head)

const SIDE = 384;
const PATCH = 16;
const GRID = SIDE / PATCH; // 24
const PATCHES = GRID * GRID; // 576
const TOKENS = PATCHES + 1; // 577 with CLS
const HIDDEN = 768;
const HEADS = 12;
const HEAD_DIM = HIDDEN / HEADS; // 64
const MLP = 3072;
const LAYERS = 12;
const LABELS = ['sfw', 'nsfw'];
const LN_EPS = 1e-12;
const SEED = 20240601;

/** Multiply-accumulates per image (weights and attention; norms, softmax, GELU left out). */
const GMAC = (PATCHES * HIDDEN * 3 * PATCH * PATCH // patch embedding
  + LAYERS * (TOKENS * HIDDEN * HIDDEN * 4 // q, k, v, out
    + 2 * TOKENS * HIDDEN * MLP // MLP
    + 2 * HEADS * TOKENS * TOKENS * HEAD_DIM) // QKᵀ, ·V
  + HIDDEN * LABELS.length) / 1e9;

// ---------------------------------------------------------------------------------------------
// ONNX protobuf: written with the messages of scripts/onnxProto.mjs.

// TensorProto.DataType
const FLOAT = 1;
const UINT8 = 2;
const INT64 = 7;
// AttributeProto.AttributeType
const A_FLOAT = 1;
const A_INT = 2;
const A_INTS = 7;

const bytesOf = (typed) => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
const attr = {
  int: (name, i) => ({ name, type: A_INT, i }),
  ints: (name, ints) => ({ name, type: A_INTS, ints }),
  float: (name, f) => ({ name, type: A_FLOAT, f }),
};

/** Collects nodes and initializers; names are unique by a counter. */
class Graph {
  nodes = [];
  inits = [];
  #n = 0;
  #consts = new Map();

  /** Adds a node; returns its output name (or names when `outputs` > 1). */
  op(opType, inputs, attribute = [], outputs = 1) {
    const id = `${opType}_${this.#n++}`;
    const out = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? id : `${id}:${i}`));
    this.nodes.push({ input: inputs, output: out, name: id, op_type: opType, attribute });
    return outputs === 1 ? out[0] : out;
  }

  /** Adds an initializer; `data` is a typed array matching `dataType`. */
  init(name, dims, dataType, data) {
    this.inits.push({ name, dims, data_type: dataType, raw_data: bytesOf(data) });
    return name;
  }

  /** A shared constant (float scalar or int64 vector), one initializer per value. */
  const(value, dataType = FLOAT) {
    const key = `${dataType}:${value}`;
    if (!this.#consts.has(key)) {
      const name = `const_${this.#consts.size}`;
      if (dataType === FLOAT) this.init(name, [], FLOAT, new Float32Array([value]));
      else this.init(name, [value.length], INT64, BigInt64Array.from(value.map(BigInt)));
      this.#consts.set(key, name);
    }
    return this.#consts.get(key);
  }
}

const valueInfo = (name, elemType, dims) => ({
  name,
  type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
});

/** Encodes a graph as an ONNX ModelProto (opset 17: LayerNormalization). */
function encodeModel(g, name, doc) {
  const Model = onnxModelType();
  const model = {
    ir_version: 8,
    producer_name: 'kleinbild scripts/safety-cost.mjs',
    producer_version: '1',
    doc_string: doc,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name,
      node: g.nodes,
      initializer: g.inits,
      input: [valueInfo('pixel_values', FLOAT, [1, 3, SIDE, SIDE])],
      output: [valueInfo('logits', FLOAT, [1, LABELS.length])],
    },
  };
  const err = Model.verify(model);
  if (err) throw new Error(`ModelProto: ${err}`);
  return Model.encode(Model.fromObject(model)).finish();
}

// ---------------------------------------------------------------------------------------------
// Weights: N(0, 0.02) from a seeded generator (mulberry32 + Box–Muller); LayerNorm γ = 1, β = 0.

function rng(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (n, std) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - uniform()));
      const th = 2 * Math.PI * uniform();
      out[i] = r * Math.cos(th);
      if (i + 1 < n) out[i + 1] = r * Math.sin(th);
    }
    return out;
  };
  return { uniform, normal };
}

/** Every weight of the model, drawn in a fixed order. */
function makeWeights() {
  const r = rng(SEED);
  const w = (n) => r.normal(n, 0.02);
  const layer = () => ({
    wq: w(HIDDEN * HIDDEN), bq: w(HIDDEN), wk: w(HIDDEN * HIDDEN), bk: w(HIDDEN), wv: w(HIDDEN * HIDDEN), bv: w(HIDDEN),
    wo: w(HIDDEN * HIDDEN), bo: w(HIDDEN), w1: w(HIDDEN * MLP), b1: w(MLP), w2: w(MLP * HIDDEN), b2: w(HIDDEN),
  });
  return {
    patchW: w(HIDDEN * 3 * PATCH * PATCH), patchB: w(HIDDEN),
    cls: w(HIDDEN), pos: w(TOKENS * HIDDEN),
    layers: Array.from({ length: LAYERS }, layer),
    headW: w(HIDDEN * LABELS.length), headB: w(LABELS.length),
  };
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime's dynamic quantization of a weight (onnxruntime/python/tools/quantization:
// quantize_data, asymmetric uint8): rmin = min(0, min w), rmax = max(0, max w), scale = (rmax−rmin)/qmax,
// zero point = round(−rmin/scale), q = clamp(round(w/scale) + zp, 0, qmax); qmax 127 with reduce_range.

function quantizeRange(values, qmax) {
  let lo = 0;
  let hi = 0;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const scale = hi > lo ? (hi - lo) / qmax : 1;
  const zp = Math.min(qmax, Math.max(0, Math.round(-lo / scale)));
  return { scale, zp };
}
const quant = (v, scale, zp, qmax) => Math.min(qmax, Math.max(0, Math.round(v / scale) + zp));

/** Per output column of a [k, n] MatMul weight (per_channel, reduce_range). */
function quantizePerColumn(w, k, n, qmax = 127) {
  const q = new Uint8Array(k * n);
  const scales = new Float32Array(n);
  const zps = new Uint8Array(n);
  const col = new Float32Array(k);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < k; i++) col[i] = w[i * n + j];
    const { scale, zp } = quantizeRange(col, qmax);
    scales[j] = scale;
    zps[j] = zp;
    for (let i = 0; i < k; i++) q[i * n + j] = quant(col[i], scale, zp, qmax);
  }
  return { q, scales, zps };
}

/** One scale for the whole tensor (the Conv: ConvInteger takes a per-tensor zero point here). */
function quantizePerTensor(w, qmax = 255) {
  const { scale, zp } = quantizeRange(w, qmax);
  return { q: Uint8Array.from(w, (v) => quant(v, scale, zp, qmax)), scale, zp };
}

// ---------------------------------------------------------------------------------------------
// The graph, fp32 or q8.

function buildModel(W, q8) {
  const g = new Graph();
  // Dynamic activation quantization, one DynamicQuantizeLinear per tensor (shared by q, k and v).
  const dql = new Map();
  const quantized = (x) => {
    if (!dql.has(x)) dql.set(x, g.op('DynamicQuantizeLinear', [x], [], 3));
    return dql.get(x);
  };

  /** x [.., k] · w [k, n] + b */
  const linear = (x, name, w, b, k, n) => {
    const bias = g.init(`${name}.bias`, [n], FLOAT, b);
    if (!q8) return g.op('Add', [g.op('MatMul', [x, g.init(`${name}.weight`, [k, n], FLOAT, w)]), bias]);
    const { q, scales, zps } = quantizePerColumn(w, k, n);
    const [xq, xScale, xZp] = quantized(x);
    const wq = g.init(`${name}.weight_quantized`, [k, n], UINT8, q);
    const wScale = g.init(`${name}.weight_scale`, [n], FLOAT, scales);
    const wZp = g.init(`${name}.weight_zero_point`, [n], UINT8, zps);
    const acc = g.op('MatMulInteger', [xq, wq, xZp, wZp]);
    const scale = g.op('Mul', [xScale, wScale]);
    const y = g.op('Mul', [g.op('Cast', [acc], [attr.int('to', FLOAT)]), scale]);
    return g.op('Add', [y, bias]);
  };

  const layerNorm = (x, name) => g.op('LayerNormalization', [
    x,
    g.init(`${name}.weight`, [HIDDEN], FLOAT, new Float32Array(HIDDEN).fill(1)),
    g.init(`${name}.bias`, [HIDDEN], FLOAT, new Float32Array(HIDDEN)),
  ], [attr.int('axis', -1), attr.float('epsilon', LN_EPS)]);

  // Patch embedding: Conv 16×16 stride 16 → [1,768,24,24]
  const convAttrs = [attr.ints('kernel_shape', [PATCH, PATCH]), attr.ints('strides', [PATCH, PATCH])];
  let patches;
  if (!q8) {
    patches = g.op('Conv', ['pixel_values',
      g.init('patch.weight', [HIDDEN, 3, PATCH, PATCH], FLOAT, W.patchW),
      g.init('patch.bias', [HIDDEN], FLOAT, W.patchB)], convAttrs);
  } else {
    const { q, scale, zp } = quantizePerTensor(W.patchW);
    const [xq, xScale, xZp] = quantized('pixel_values');
    const acc = g.op('ConvInteger', [xq,
      g.init('patch.weight_quantized', [HIDDEN, 3, PATCH, PATCH], UINT8, q), xZp,
      g.init('patch.weight_zero_point', [], UINT8, new Uint8Array([zp]))], convAttrs);
    const s = g.op('Mul', [xScale, g.init('patch.weight_scale', [], FLOAT, new Float32Array([scale]))]);
    const y = g.op('Mul', [g.op('Cast', [acc], [attr.int('to', FLOAT)]), s]);
    patches = g.op('Add', [y, g.init('patch.bias_reshaped', [HIDDEN, 1, 1], FLOAT, W.patchB)]);
  }
  const seq = g.op('Transpose', [g.op('Reshape', [patches, g.const([1, HIDDEN, PATCHES], INT64)])], [attr.ints('perm', [0, 2, 1])]);
  const withCls = g.op('Concat', [g.init('cls_token', [1, 1, HIDDEN], FLOAT, W.cls), seq], [attr.int('axis', 1)]);
  let h = g.op('Add', [withCls, g.init('position_embeddings', [1, TOKENS, HIDDEN], FLOAT, W.pos)]);

  const headsShape = g.const([1, TOKENS, HEADS, HEAD_DIM], INT64);
  const seqShape = g.const([1, TOKENS, HIDDEN], INT64);
  const split = (x, perm) => g.op('Transpose', [g.op('Reshape', [x, headsShape])], [attr.ints('perm', perm)]);
  W.layers.forEach((L, i) => {
    const p = `layer.${i}`;
    // self-attention
    const x = layerNorm(h, `${p}.layernorm_before`);
    const q = split(linear(x, `${p}.attention.query`, L.wq, L.bq, HIDDEN, HIDDEN), [0, 2, 1, 3]); // [1,12,577,64]
    const kT = split(linear(x, `${p}.attention.key`, L.wk, L.bk, HIDDEN, HIDDEN), [0, 2, 3, 1]); // [1,12,64,577]
    const v = split(linear(x, `${p}.attention.value`, L.wv, L.bv, HIDDEN, HIDDEN), [0, 2, 1, 3]);
    const scores = g.op('Div', [g.op('MatMul', [q, kT]), g.const(Math.sqrt(HEAD_DIM))]);
    const probs = g.op('Softmax', [scores], [attr.int('axis', -1)]);
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], [attr.ints('perm', [0, 2, 1, 3])]), seqShape]);
    h = g.op('Add', [h, linear(ctx, `${p}.attention.output`, L.wo, L.bo, HIDDEN, HIDDEN)]);
    // MLP with exact GELU, as torch exports it
    const y = layerNorm(h, `${p}.layernorm_after`);
    const f = linear(y, `${p}.intermediate`, L.w1, L.b1, HIDDEN, MLP);
    const erf = g.op('Erf', [g.op('Div', [f, g.const(Math.SQRT2)])]);
    const gelu = g.op('Mul', [g.op('Mul', [f, g.op('Add', [erf, g.const(1)])]), g.const(0.5)]);
    h = g.op('Add', [h, linear(gelu, `${p}.output`, L.w2, L.b2, MLP, HIDDEN)]);
  });
  const cls = g.op('Gather', [layerNorm(h, 'layernorm'), g.init('cls_index', [], INT64, new BigInt64Array([0n]))], [attr.int('axis', 1)]); // [1,768]
  const logits = linear(cls, 'classifier', W.headW, W.headB, HIDDEN, LABELS.length);
  g.nodes.push({ input: [logits], output: ['logits'], name: 'logits', op_type: 'Identity', attribute: [] });
  return encodeModel(g, q8 ? 'vit_base_patch16_384_q8' : 'vit_base_patch16_384',
    `ViT-B/16 at ${SIDE}², ${LABELS.length} labels, random weights (seed ${SEED})${q8 ? ', dynamic uint8 quantization' : ''}`);
}

/** The folder in the transformers.js layout, as the checker reads it (config of google/vit-base-patch16-384). */
function writeFolder(dir, models) {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const json = (o) => `${JSON.stringify(o, null, 2)}\n`;
  writeFileSync(join(dir, 'config.json'), json({
    architectures: ['ViTForImageClassification'], model_type: 'vit',
    id2label: Object.fromEntries(LABELS.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(LABELS.map((l, i) => [l, i])),
    image_size: SIDE, patch_size: PATCH, num_channels: 3, hidden_size: HIDDEN, num_hidden_layers: LAYERS,
    num_attention_heads: HEADS, intermediate_size: MLP, layer_norm_eps: LN_EPS,
  }));
  writeFileSync(join(dir, 'preprocessor_config.json'), json({
    image_processor_type: 'ViTImageProcessor', do_resize: true, size: { height: SIDE, width: SIDE }, resample: 2,
    do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
  }));
  const files = {};
  for (const m of models) {
    const W = makeWeights(); // the same weights for both, drawn afresh (buildModel does not keep them)
    const file = join(dir, 'onnx', m === 'q8' ? 'model_quantized.onnx' : 'model.onnx');
    writeFileSync(file, buildModel(W, m === 'q8'));
    files[m] = file;
  }
  // The network input: uniform in [-1, 1] (what the processor's normalisation yields), seeded.
  const r = rng(SEED + 1);
  const input = Float32Array.from({ length: 3 * SIDE * SIDE }, () => 2 * r.uniform() - 1);
  writeFileSync(join(dir, 'pixel_values.f32'), bytesOf(input));
  return files;
}

// ---------------------------------------------------------------------------------------------
// Child side: one runtime configuration, one model. Prints `RESULT <json>` on stdout.

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0] };
};

async function timeRuns(runs, fn) {
  let t = performance.now();
  let out = await fn();
  const warmup = performance.now() - t;
  const ms = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    out = await fn();
    ms.push(performance.now() - t);
  }
  return { warmup, ...stats(ms), ms, out };
}

const distDir = fileURLToPath(new URL('../node_modules/onnxruntime-web/dist/', import.meta.url));

/**
 * This process's peak resident memory (KiB): VmHWM on Linux, which belongs to the process's own
 * address space (getrusage's maxRSS also keeps the parent's high-water mark across fork and exec).
 */
function peakRssKB() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS;
}

async function childSession({ runtime, threads, file, dir, runs }) {
  const bytes = readFileSync(file);
  const input = new Float32Array(readFileSync(join(dir, 'pixel_values.f32')).buffer.slice(0));
  let ort;
  let options;
  if (runtime === 'node') {
    ort = await import('onnxruntime-node');
    options = { executionProviders: ['cpu'], ...(threads ? { intraOpNumThreads: threads } : {}) };
  } else {
    // 'web': the plain WASM build; 'web-asyncify': the WebGPU entry's WASM build (the app's worker).
    ort = await import(runtime === 'web' ? 'onnxruntime-web' : 'onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    const base = pathToFileURL(distDir).href;
    const build = runtime === 'web' ? 'ort-wasm-simd-threaded' : 'ort-wasm-simd-threaded.asyncify';
    ort.env.wasm.wasmPaths = { mjs: `${base}${build}.mjs`, wasm: `${base}${build}.wasm` };
    options = { executionProviders: ['wasm'] };
  }
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, options);
  const create = performance.now() - t0;
  const feed = { pixel_values: new ort.Tensor('float32', input, [1, 3, SIDE, SIDE]) };
  const r = await timeRuns(runs, () => session.run(feed));
  const logits = Array.from(r.out.logits.data);
  await session.release();
  return { create, warmup: r.warmup, median: r.median, min: r.min, ms: r.ms, logits };
}

async function childPipeline({ dir, dtype, runs }) {
  const { env, pipeline, RawImage } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  // A 1024² RGBA picture (a smooth gradient: the cost does not depend on its content).
  const side = 1024;
  const rgba = new Uint8ClampedArray(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 4;
      rgba[i] = x >> 2; rgba[i + 1] = y >> 2; rgba[i + 2] = (x + y) >> 3; rgba[i + 3] = 255;
    }
  }
  const t0 = performance.now();
  const p = await pipeline('image-classification', dir, { device: 'cpu', dtype, local_files_only: true });
  const load = performance.now() - t0;
  // as src/safety/classify.ts: RawImage(rgba).rgb() → the pipeline with top_k null
  const pre = await timeRuns(runs, () => p.processor(new RawImage(rgba, side, side, 4).rgb()));
  const check = await timeRuns(runs, () => p(new RawImage(rgba, side, side, 4).rgb(), { top_k: null }));
  const shape = pre.out.pixel_values.dims;
  await p.dispose();
  return { create: load, warmup: check.warmup, median: check.median, min: check.min, ms: check.ms, preMedian: pre.median, preMin: pre.min, shape, scores: check.out };
}

// ---------------------------------------------------------------------------------------------
// Parent side

function parseArgs(argv) {
  const o = { runs: 5, models: ['fp32', 'q8'], skip: new Set(), keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--models') o.models = val().split(',');
    else if (a === '--skip') o.skip = new Set(val().split(','));
    else if (a === '--keep') o.keep = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(Number.isInteger(o.runs) && o.runs >= 1)) throw new Error('--runs: a whole number ≥ 1');
  if (o.models.some((m) => m !== 'fp32' && m !== 'q8')) throw new Error('--models: fp32 and/or q8');
  if ([...o.skip].some((s) => s !== 'web' && s !== 'pipeline')) throw new Error('--skip: web and/or pipeline');
  return o;
}

/** Runs one configuration in a child process; its result, or {error}. */
function inChild(job) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], {
    encoding: 'utf8', maxBuffer: 1 << 24,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') };
  return JSON.parse(line.slice(7));
}

/** fp32 logits must agree across runtimes to this (they are O(1)). */
const FP32_TOLERANCE = 1e-3;
const maxAbsDiff = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
const mb = (bytes) => (bytes / 1e6).toFixed(1);
const fmt = (ms) => (ms === undefined ? '' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const pad = (cells, widths) => cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log('usage: node scripts/safety-cost.mjs [--runs N] [--models fp32,q8] [--skip web,pipeline] [--keep]');
    return 0;
  }
  const ortNode = JSON.parse(readFileSync(new URL('../node_modules/onnxruntime-node/package.json', import.meta.url))).version;
  const ortWeb = JSON.parse(readFileSync(new URL('../node_modules/onnxruntime-web/package.json', import.meta.url))).version;
  console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} logical CPUs; node ${process.version}; onnxruntime-node ${ortNode}, onnxruntime-web ${ortWeb}`);
  console.log(`load average (1 min) at start: ${loadavg()[0].toFixed(2)}`);
  console.log(`model: ViT-B/16 ${SIDE}², ${LAYERS} layers, ${TOKENS} tokens, ${LABELS.length} labels, ≈ ${GMAC.toFixed(1)} GMAC per image; random weights; ${o.runs} timed runs after 1 warm-up`);

  const dir = mkdtempSync(join(tmpdir(), 'kleinbild-safety-cost-'));
  try {
    let t = performance.now();
    const files = writeFolder(dir, o.models);
    console.log(`wrote ${o.models.map((m) => `${m} ${mb(statSync(files[m]).size)} MB`).join(', ')} to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);

    const configs = [
      { label: 'node CPU, default threads', runtime: 'node', threads: 0 },
      { label: 'node CPU, 1 thread', runtime: 'node', threads: 1 },
      ...(o.skip.has('web') ? [] : [
        { label: 'web WASM 1 thread (plain)', runtime: 'web' },
        { label: 'web WASM 1 thread (asyncify)', runtime: 'web-asyncify' },
      ]),
    ];
    const rows = [];
    const problems = [];
    const perRun = []; // every run's time: V8 compiles WASM lazily, and the first runs can be slower
    let fp32Ref; // logits of fp32 on node CPU, default threads: what every other row is compared with
    for (const m of o.models) {
      const size = statSync(files[m]).size;
      let ref;
      for (const c of configs) {
        t = performance.now();
        const r = inChild({ kind: 'session', runtime: c.runtime, threads: c.threads, file: files[m], dir, runs: o.runs });
        process.stderr.write(`  ${m} ${c.label}: ${r.error ? 'failed' : `${fmt(r.median)} ms`} (${((performance.now() - t) / 1000).toFixed(0)} s)\n`);
        if (r.error) {
          problems.push(`${m} on ${c.label}: ${r.error}`);
          rows.push([m, c.label, mb(size), 'failed', '', '', '', '', '', '', '']);
          continue;
        }
        if (!r.logits.every(Number.isFinite)) problems.push(`${m} on ${c.label}: non-finite logits ${r.logits}`);
        ref ??= r.logits;
        if (m === 'fp32') fp32Ref ??= r.logits;
        const delta = maxAbsDiff(r.logits, ref);
        // fp32 runs the same float graph everywhere: only rounding may differ. (q8 is compared, not
        // checked: a flipped rounding in one dynamic quantization changes the next layers' inputs.)
        if (m === 'fp32' && !(delta <= FP32_TOLERANCE)) problems.push(`fp32 on ${c.label}: logits differ from node CPU by ${delta}`);
        perRun.push(`${m} ${c.label}: ${[r.warmup, ...r.ms].map(fmt).join(' ')}`);
        rows.push([m, c.label, mb(size), fmt(r.create), fmt(r.warmup), fmt(r.median), fmt(r.min), mb(r.maxRssKB * 1024),
          r.logits.map((v) => v.toFixed(4)).join(' '), delta.toExponential(1), fp32Ref ? maxAbsDiff(r.logits, fp32Ref).toExponential(1) : '']);
      }
      if (!o.skip.has('pipeline')) {
        const r = inChild({ kind: 'pipeline', dir, dtype: m, runs: o.runs });
        const label = 'transformers.js pipeline';
        process.stderr.write(`  ${m} ${label}: ${r.error ? 'failed' : `${fmt(r.median)} ms`}\n`);
        if (r.error) {
          problems.push(`${m} on ${label}: ${r.error}`);
          rows.push([m, label, mb(size), 'failed', '', '', '', '', '', '', '']);
        } else {
          perRun.push(`${m} ${label}: ${[r.warmup, ...r.ms].map(fmt).join(' ')}`);
          rows.push([m, label, mb(size), fmt(r.create), fmt(r.warmup), fmt(r.median), fmt(r.min), mb(r.maxRssKB * 1024),
            r.scores.map((x) => `${x.label} ${x.score.toFixed(4)}`).join(' '), '', '']);
          rows.push([m, `  of which preprocessing 1024²→[${r.shape}]`, '', '', '', fmt(r.preMedian), fmt(r.preMin), '', '', '', '']);
        }
      }
    }

    const head = ['model', 'runtime', 'file MB', 'create ms', 'warm-up ms', 'median ms', 'min ms', 'peak RSS MB', 'logits', '|Δ| node', '|Δ| fp32'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
    console.log(pad(head, widths));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(pad(r, widths));
    console.log(`\ncreate: session from the file's bytes (pipeline: pipeline() from the folder); |Δ| node: max |Δ| of the logits vs`);
    console.log('the same model on node CPU with default threads; |Δ| fp32: vs the fp32 model there; peak RSS: the child process.');
    console.log('pipeline: a 1024² RGBA image through RawImage.rgb() and the pipeline, as src/safety/classify.ts (Node: resize with sharp; the browser resizes with a canvas).');
    console.log(`\nevery run in order, warm-up first (ms):\n${perRun.map((l) => `  ${l}`).join('\n')}`);
    console.log(`load average (1 min) at the end: ${loadavg()[0].toFixed(2)}`);
    if (problems.length) {
      console.log(`\nproblems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return 1;
    }
    return 0;
  } finally {
    if (o.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const job = JSON.parse(process.argv[3]);
  const r = job.kind === 'pipeline' ? await childPipeline(job) : await childSession(job);
  console.log(`RESULT ${JSON.stringify({ ...r, maxRssKB: peakRssKB() })}`);
  process.exit(0);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
