/**
 * `npm run serve -- --model <pack folder | diffusers folder | hub id | URL> [--host 127.0.0.1]
 *   [--port 8080] [--api-key KEY] [--quant q8|q4] [--low-memory] [--queue N] [--cors ORIGINS] [--lora-dir DIR]
 *   [--safety [--safety-model ID_URL_OR_FOLDER] [--safety-threshold T] [--safety-labels L,…]] …`
 * An OpenAI-compatible Images server (app.ts) on the same Pipeline as `npm run generate`. The model
 * loads once, in the background: /healthz says "loading" meanwhile and image requests get 503.
 * SIGTERM/SIGINT: new requests get 503, the running image finishes, then the process exits.
 */
import { stat } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_MODEL } from '../catalog/choices';
import type { LoadOptions, Precision } from '../pipeline/types';
import type { QuantFormat } from '../util/dtype';
import { isQuantFormat } from '../util/quant';
import { parsePrecision } from '../cli/backend';
import { addSafetyOptions, parseSafetyArgs, type SafetyArgs } from '../cli/safetyArgs';
import type { SafetyConfig } from '../safety/config';
import { buildServer, type KleinbildServer } from './app';
import { Engine } from './engine';

export interface ServerOptions {
  model: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  apiKey?: string;
  backend?: 'gpu' | 'cpu';
  quant?: QuantFormat;
  lowMemory?: boolean;
  precision?: Precision;
  /** Requests that may wait behind the running one (default 8). */
  queue?: number;
  cors?: string[];
  /** Per-request limit, queue wait included (ms, default 10 min). */
  timeoutMs?: number;
  /** How long `url` images are kept (ms, default 1 h). */
  urlTtlMs?: number;
  maxImageBytes?: number;
  publicUrl?: string;
  /**
   * Folder of LoRA `.safetensors` files: each is added after the model loads (and after a reload) as
   * the file name without `.safetensors`; requests select them with `loras`. Unparsable files are logged and skipped.
   */
  loraDir?: string;
  /**
   * The safety checker (src/safety): every generated image is classified; a flagged one fails the
   * request with 400 `moderation_blocked` (action `blur` too: the server has no notice to show; `off`:
   * no checker). Loaded before the server listens: a bad one fails the start.
   */
  safety?: SafetyConfig;
  /** Wait for the model before resolving (tests); default: serve at once, /healthz says loading. */
  waitForModel?: boolean;
  log?: (line: string) => void;
}

export interface RunningServer extends KleinbildServer {
  /** The origin it listens on, e.g. http://127.0.0.1:8080 (the OpenAI base URL is `${url}/v1`). */
  url: string;
  engine: Engine;
}

export const DEFAULTS = { host: '127.0.0.1', port: 8080, queue: 8, timeoutS: 600, urlTtlS: 3600, maxImageMb: 50, bodyLimitBytes: 1024 * 1024 };

/** Starts the server: listening at once, the model loading behind it (or before, `waitForModel`). */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  // imported when used: @huggingface/transformers loads ONNX Runtime and sharp (native addons)
  const safety = o.safety && o.safety.action !== 'off' ? await (await import('../safety/checker')).createSafetyChecker(o.safety) : undefined;
  if (safety) log(`safety checker: ${safety.config.model} (labels ${safety.labels.join(', ')}; flags ${safety.config.flaggedLabels.join(', ')} at ≥ ${safety.config.threshold})`);
  const load: LoadOptions = { ...(o.quant ? { quant: o.quant } : {}), ...(o.lowMemory ? { lowMemory: true } : {}), ...(o.precision ? { precision: o.precision } : {}) };
  const engine = new Engine({ model: o.model, backend: o.backend ?? 'gpu', load, queue: o.queue ?? DEFAULTS.queue, ...(o.loraDir !== undefined ? { loraDir: o.loraDir } : {}), log });
  const loaded = engine.load();
  if (o.waitForModel) await loaded;
  const server = await buildServer({
    engine,
    ...(o.apiKey ? { apiKey: o.apiKey } : {}),
    ...(o.cors ? { cors: o.cors } : {}),
    bodyLimit: DEFAULTS.bodyLimitBytes,
    maxImageBytes: o.maxImageBytes ?? DEFAULTS.maxImageMb * 1024 * 1024,
    urlTtlMs: o.urlTtlMs ?? DEFAULTS.urlTtlS * 1000,
    timeoutMs: o.timeoutMs ?? DEFAULTS.timeoutS * 1000,
    ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
    ...(safety ? { safety } : {}),
    log,
  });
  const address = await server.app.listen({ host: o.host ?? DEFAULTS.host, port: o.port ?? DEFAULTS.port });
  log(`listening on ${address} (OpenAI base URL ${address}/v1)${o.apiKey ? ', API key required' : ''}`);
  return {
    ...server,
    url: address,
    engine,
    async close() {
      await server.close();
      await loaded;
      engine.dispose();
      await safety?.dispose();
    },
  };
}

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${v}"`);
    return n;
  };
}

export async function main(argv: string[]): Promise<number> {
  const cmd = new Command('serve')
    .description('OpenAI-compatible image server for FLUX.2 [klein] (POST /v1/images/generations, /v1/images/edits)')
    .option('--model <source>', 'pack or diffusers folder, hub repo id or http(s) URL; loaded once at start', DEFAULT_MODEL)
    .option('--host <host>', 'address to listen on', DEFAULTS.host)
    .option('--port <n>', 'port (0: any free one)', positive('--port'), DEFAULTS.port)
    .option('--api-key <key>', 'require Authorization: Bearer <key> (default: $KLEINBILD_API_KEY, else none)')
    .option('--quant <format>', 'quantize linear weights while loading: q8 or q4')
    .option('--low-memory', "one stage's weights on the GPU at a time")
    .option('--precision <p>', 'transformer activations: auto, f32 or f16', 'auto')
    .option('--backend <name>', 'gpu (Dawn) or cpu (reference loops)', 'gpu')
    .option('--queue <n>', 'requests that may wait behind the running one; more get 429', positive('--queue'), DEFAULTS.queue)
    .option('--cors <origins>', "comma-separated origins allowed to call from a browser ('*' for any)")
    .option('--timeout <s>', 'longest a request may take, queue wait included (504 after)', positive('--timeout'), DEFAULTS.timeoutS)
    .option('--url-ttl <s>', 'how long response_format=url images stay downloadable', positive('--url-ttl'), DEFAULTS.urlTtlS)
    .option('--max-image-mb <n>', 'largest uploaded image for edits (413 beyond)', positive('--max-image-mb'), DEFAULTS.maxImageMb)
    .option('--public-url <origin>', 'origin used in url responses behind a proxy (default: the request\'s own)')
    .option('--lora-dir <dir>', 'offer every *.safetensors LoRA in this folder, named by its file name without .safetensors (requests: "loras")')
    .exitOverride();
  addSafetyOptions(cmd, 'a flagged result fails the request with 400 moderation_blocked');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{ model: string; host: string; port: number; apiKey?: string; quant?: string; lowMemory?: boolean; precision: string; backend: string; queue: number; cors?: string; timeout: number; urlTtl: number; maxImageMb: number; publicUrl?: string; loraDir?: string } & SafetyArgs>();
  const safety = parseSafetyArgs(o);
  if (o.quant !== undefined && !isQuantFormat(o.quant)) throw new InvalidArgumentError(`--quant ${o.quant}: use q8 or q4`);
  if (o.backend !== 'gpu' && o.backend !== 'cpu') throw new InvalidArgumentError(`--backend ${o.backend}: use gpu or cpu`);
  if (o.timeout < 1) throw new InvalidArgumentError('--timeout must be at least 1 s');
  if (o.loraDir !== undefined) {
    const dir = await stat(o.loraDir).catch(() => null);
    if (!dir?.isDirectory()) throw new InvalidArgumentError(`--lora-dir ${o.loraDir}: not a folder`);
  }
  const apiKey = o.apiKey ?? process.env.KLEINBILD_API_KEY;
  const server = await startServer({
    model: o.model, host: o.host, port: o.port, backend: o.backend, queue: o.queue,
    precision: parsePrecision(o.precision), timeoutMs: o.timeout * 1000, urlTtlMs: o.urlTtl * 1000, maxImageBytes: o.maxImageMb * 1024 * 1024,
    ...(apiKey ? { apiKey } : {}),
    ...(o.quant ? { quant: o.quant as QuantFormat } : {}),
    ...(o.lowMemory ? { lowMemory: true } : {}),
    ...(o.cors ? { cors: o.cors.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
    ...(o.loraDir !== undefined ? { loraDir: o.loraDir } : {}),
    ...(safety ? { safety } : {}),
  });
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      process.stderr.write(`${new Date().toISOString()} ${sig}: finishing the running image, refusing new requests\n`);
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  process.stderr.write(`${new Date().toISOString()} stopped\n`);
  return 0;
}
