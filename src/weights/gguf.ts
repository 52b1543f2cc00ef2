/**
 * GGUF checkpoints as SourceTensors: a Qwen3-4B text encoder in llama.cpp naming, or a FLUX.2
 * transformer in BFL naming (ComfyUI-GGUF / stable-diffusion.cpp files). The header is parsed by
 * @huggingface/gguf, fed from a FileSource through a fetch that answers its Range requests; the
 * tensor data is then read row range by row range (ggufQuants.ts decodes the blocks).
 *
 * GGUF lists a tensor's dims innermost first (ne[0] = columns), so the PyTorch shape is the reverse.
 *
 * llama.cpp → transformers names for Qwen3 (llama.cpp gguf-py `constants.py` MODEL_TENSOR names and
 * `tensor_mapping.py`): `token_embd` = model.embed_tokens, `blk.{i}.X` = model.layers.{i}.Y with X→Y
 * in QWEN3_LAYER below, `output_norm` / `output` = model.norm / lm_head (unused). llama.cpp's
 * converter leaves Q/K rows unpermuted for Qwen3: `Qwen3Model(Qwen2Model)` in convert_hf_to_gguf.py
 * (snapshot 0024aa74) adds no permute (only LlamaModel-style converters undo HF's rotate-half
 * permutation), and llama.cpp runs Qwen3 with NeoX (half-split) RoPE, as transformers does.
 */
import { GGMLQuantizationType, gguf } from '@huggingface/gguf';
import { InvalidInput, WeightMismatch } from '../errors';
import { fmtShape } from '../util/assert';
import { type RowSource, type TensorPlan, flux2Plans, planTensor, renamePlan, stripPrefix } from './bflNames';
import { GGML_BLOCK, GGML_TYPE_NAMES, type GgmlType, dequantize } from './ggufQuants';
import { GGUF_REPACK, GGUF_REPACK_GROUP, repackGguf } from './ggufRepack';
import type { FileSource } from './source';
import { type SourceTensor, rowsCols } from './sourceTensor';

/** One tensor as the GGUF header describes it. */
export interface GgufTensorInfo {
  name: string;
  /** PyTorch order (outermost first): the reverse of GGUF `ne`. */
  shape: number[];
  /** GGML type name ('Q4_K', 'IQ4_XS', …; `type <id>` when even the library does not know it). */
  type: string;
  /** Absolute byte offset of the data in the file. */
  start: number;
}

export interface GgufHeader {
  metadata: Record<string, unknown>;
  tensors: GgufTensorInfo[];
  fileSize: number;
}

/**
 * A `fetch` for @huggingface/gguf that serves its `Range: bytes=a-b` GETs from `src.range`
 * (the URL is ignored). Answers 206 with a Content-Range, clamped to the file size. Errors of
 * `src` itself (network, 404) are handed to `onError` before they propagate.
 */
function rangeFetch(src: FileSource, path: string, size: number, onError: (e: unknown) => void): typeof fetch {
  return async (_input, init) => {
    const range = new Headers(init?.headers).get('Range') ?? '';
    const m = /^bytes=(\d+)-(\d+)$/.exec(range);
    if (!m) throw new Error(`gguf header reader asked ${src.id}/${path} for "${range}", not a byte range`);
    const start = Math.min(Number(m[1]), size);
    const end = Math.min(Number(m[2]) + 1, size);
    let body: Uint8Array = new Uint8Array(0);
    if (start < end) {
      try {
        body = await src.range(path, start, end);
      } catch (e) {
        onError(e);
        throw e;
      }
    }
    const contentRange = start < end ? `bytes ${start}-${end - 1}/${size}` : `bytes */${size}`;
    return new Response(body.slice(), { status: 206, headers: { 'Content-Range': contentRange } });
  };
}

/**
 * Reads a GGUF header (metadata and tensor infos; no tensor data). Throws InvalidInput when the
 * file is not GGUF, or is cut short: the library reads in 2 MB chunks and sees the bytes past the
 * end of the file as zeros (rangeFetch answers them with an empty body), so a header that runs past
 * the end would parse into zero-filled names and shapes; it is refused by the byte it needed.
 * Tensor data past the end of the file is refused too. Errors of the source (network, not found)
 * propagate unchanged.
 */
export async function readGgufHeader(src: FileSource, path: string): Promise<GgufHeader> {
  const fileSize = await src.size(path);
  let ioError: unknown;
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    // the URL only has to look like http(s) for the library to take the fetch path
    const onError = (e: unknown): void => {
      ioError = e;
    };
    parsed = await gguf(`https://gguf.invalid/${encodeURI(path)}`, { fetch: rangeFetch(src, path, fileSize, onError) });
  } catch (e) {
    if (ioError !== undefined) throw ioError;
    throw new InvalidInput(`${src.id}/${path}: not a readable GGUF file (${(e as Error).message})`);
  }
  const headerEnd = parsed.tensorInfoByteRange[1];
  if (headerEnd > fileSize) {
    throw new InvalidInput(`${src.id}/${path}: file cut short: its GGUF header runs to byte ${headerEnd}, but the file ends at byte ${fileSize} (read past the end at offset ${fileSize})`);
  }
  if (!parsed.littleEndian) throw new InvalidInput(`${src.id}/${path}: big-endian GGUF is not supported`);
  const dataStart = Number(parsed.tensorDataOffset);
  const tensors = parsed.tensorInfos.map((t) => {
    const start = dataStart + Number(t.offset);
    if (!(Number.isSafeInteger(start) && start <= fileSize)) {
      throw new InvalidInput(`${src.id}/${path}: tensor ${t.name} starts at byte ${dataStart} + ${t.offset}, past the end of the file at byte ${fileSize}`);
    }
    return {
      name: t.name,
      shape: t.shape.map(Number).reverse(),
      type: GGML_TYPE_NAMES[t.dtype] ?? GGMLQuantizationType[t.dtype] ?? `type ${t.dtype}`,
      start,
    };
  });
  return { metadata: parsed.metadata as Record<string, unknown>, tensors, fileSize };
}

/**
 * A GGUF tensor as a RowSource (`file` = its path in the source); quantized tensors (Q8_0, Q4_0,
 * Q4_1, Q5_0, Q5_1, Q3_K, Q4_K, Q5_K, Q6_K) also offer their code-for-code quant.ts repack
 * (`lossless`: format GGUF_REPACK[type], group GGUF_REPACK_GROUP[type]; ggufRepack.ts: bit-exact for
 * the 32-value block types, K-quant scales rounded to f16). Throws WeightMismatch for a type without a decoder or rows that are not whole blocks,
 * InvalidInput for data past the file end.
 */
export function ggufRowSource(t: GgufTensorInfo, file: string, fileSize: number): RowSource {
  if (!(t.type in GGML_BLOCK)) {
    throw new WeightMismatch(`${t.name} (${file})`, `one of the GGML types ${Object.keys(GGML_BLOCK).join(', ')}`, t.type);
  }
  const type = t.type as GgmlType;
  const { rows, cols } = rowsCols(t.shape);
  const b = GGML_BLOCK[type];
  if (cols % b.size !== 0) throw new WeightMismatch(`${t.name} (${file})`, `rows of whole ${type} blocks of ${b.size}`, `${cols} columns`);
  const rowByteLength = (cols / b.size) * b.bytes;
  if (t.start + rows * rowByteLength > fileSize) {
    throw new InvalidInput(`${file}: tensor ${t.name} ${type} ${fmtShape(t.shape)} ends at byte ${t.start + rows * rowByteLength}, past the file end ${fileSize}`);
  }
  const plain = { F32: 'f32', F16: 'f16', BF16: 'bf16' } as const;
  const format = GGUF_REPACK[type];
  const group = GGUF_REPACK_GROUP[type];
  return {
    ...(format && group && {
      lossless: {
        format,
        group,
        repackRows: (bytes: Uint8Array, n: number) => repackGguf(type, bytes, n, cols, `${t.name} (${file})`).data,
      },
    }),
    name: t.name,
    shape: t.shape,
    sourceDtype: type,
    plainDtype: type === 'F32' || type === 'F16' || type === 'BF16' ? plain[type] : null,
    file,
    start: t.start,
    rowByteLength,
    decodeRows: (bytes, row0, n) => dequantize(type, bytes, n * cols, `${t.name} rows [${row0}, ${row0 + n})`),
  };
}

/** llama.cpp `blk.{i}.X` → transformers `model.layers.{i}.Y` for Qwen3 (the tensors the encoder uses). */
const QWEN3_LAYER: Readonly<Record<string, string>> = {
  attn_norm: 'input_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
  ffn_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};
/** In a Qwen3 GGUF but not read by the encoder (final norm, LM head). */
const QWEN3_UNUSED = new Set(['output_norm.weight', 'output.weight']);

/**
 * Plans the encoder's tensors that `needed` names (klein: embedding + layers 0…26) from llama.cpp
 * names (or transformers names, passed through), embedding first, then layer by layer. Later layers
 * and the LM head are skipped. Throws InvalidInput listing missing tensors or names that are not
 * Qwen3 (e.g. Qwen2's q/k/v biases).
 */
function qwen3Plans(rows: ReadonlyMap<string, number>, file: string, needed: ReadonlySet<string>): TensorPlan[] {
  const plans = new Map<string, TensorPlan>();
  const unexpected: string[] = [];
  for (const [name, r] of rows) {
    const blk = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
    const hf = /^model\.layers\.(\d+)\./.exec(name);
    let target: string | undefined;
    if (name === 'token_embd.weight' || name === 'model.embed_tokens.weight') target = 'model.embed_tokens.weight';
    else if (blk && QWEN3_LAYER[blk[2] as string]) target = `model.layers.${blk[1]}.${QWEN3_LAYER[blk[2] as string]}.weight`;
    else if (hf && Object.values(QWEN3_LAYER).some((y) => name === `${hf[0]}${y}.weight`)) target = name;
    else if (QWEN3_UNUSED.has(name) || name === 'model.norm.weight' || name === 'lm_head.weight') continue;
    if (!target) {
      unexpected.push(name);
      continue;
    }
    if (needed.has(target)) plans.set(target, renamePlan(target, name, r));
  }
  const layerOf = (n: string) => Number(/^model\.layers\.(\d+)\./.exec(n)?.[1] ?? -1);
  const suffixes = Object.values(QWEN3_LAYER);
  const suffixOf = (n: string) => suffixes.findIndex((y) => n.endsWith(`.${y}.weight`));
  const order = [...needed].sort((a, b) => layerOf(a) - layerOf(b) || suffixOf(a) - suffixOf(b));
  const layers = new Set(order.map(layerOf).filter((l) => l >= 0)).size;
  const missing = order.filter((n) => !plans.has(n));
  if (missing.length > 0 || unexpected.length > 0) {
    throw new InvalidInput(
      `${file}: not a Qwen3 text encoder with ${layers} layers in llama.cpp naming` +
        (missing.length ? `; missing ${missing.length} tensors: ${missing.join(', ')}` : '') +
        (unexpected.length ? `; unexpected tensors: ${unexpected.join(', ')}` : ''),
    );
  }
  return order.map((n) => plans.get(n) as TensorPlan);
}

/**
 * Every tensor of Flux2Transformer2DModel from the GGUF file `path` of `src`, under its diffusers
 * name and logical shape: fused qkv split and the final AdaLN halves swapped (bflNames.ts). Tensors
 * are not read. Errors: InvalidInput (not GGUF, missing or unexpected tensors, data past the end of
 * the file), WeightMismatch (a tensor of a type without a decoder, e.g. IQ4_XS).
 */
export function openGgufTransformer(src: FileSource, path: string): Promise<SourceTensor[]> {
  return openGguf(src, path, stripPrefix, flux2Plans);
}

/**
 * The Qwen3 text encoder tensors `needed` names (model/tensorList.ts; klein: the embedding and
 * layers 0…26) from the GGUF file `path` of `src`, under their transformers names; the output norm,
 * the LM head and later layers are skipped. Errors as openGgufTransformer, and InvalidInput listing
 * needed tensors the file lacks.
 */
export function openGgufTextEncoder(src: FileSource, path: string, needed: ReadonlySet<string>): Promise<SourceTensor[]> {
  return openGguf(src, path, (name) => name, (rows, file) => qwen3Plans(rows, file, needed));
}

/** The tensors `plan` picks from a GGUF file whose tensor names `rename` maps into `plan`'s naming. */
async function openGguf(
  src: FileSource,
  path: string,
  rename: (ggufName: string) => string,
  plan: (rows: ReadonlyMap<string, number>, file: string) => TensorPlan[],
): Promise<SourceTensor[]> {
  const header = await readGgufHeader(src, path);
  const file = `${src.id}/${path}`;
  const byName = new Map<string, GgufTensorInfo>();
  for (const t of header.tensors) {
    const key = rename(t.name);
    if (byName.has(key)) throw new InvalidInput(`${file}: tensor ${key} appears twice`);
    byName.set(key, t);
  }
  const rows = new Map([...byName].map(([k, t]) => [k, rowsCols(t.shape).rows]));
  const plans = plan(rows, file);
  const sources = new Map<string, RowSource>();
  return plans.map((p) => {
    let s = sources.get(p.source);
    if (!s) {
      s = ggufRowSource(byName.get(p.source) as GgufTensorInfo, path, header.fileSize);
      sources.set(p.source, s);
    }
    return planTensor(p, s);
  });
}
