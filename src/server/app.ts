/**
 * The OpenAI-compatible HTTP server (Fastify, its multipart and CORS plugins): routes, API key,
 * errors in OpenAI's shape, one log line per request. Fastify was chosen for its body and file
 * limits enforced while streaming (413 before a large upload is held), its request ids and
 * `inject` for tests, and its multipart plugin that reads parts one by one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import { LORAS_MAX } from '../pipeline/loras';
import { MAX_REFERENCES } from '../pipeline/references';
import type { SafetyChecker } from '../safety/checker';
import { ApiError, toApiError } from './apiError';
import type { Engine } from './engine';
import { FileStore } from './fileStore';
import { registerImageRoutes } from './images';
import { MODEL_ID } from './imageRequest';

export interface AppOptions {
  engine: Engine;
  /** When set, every /v1 route but the image files requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Allowed CORS origins ('*' for any); none: no CORS headers. */
  cors?: string[];
  /** JSON body limit (bytes). */
  bodyLimit: number;
  /** Largest uploaded image (bytes); larger → 413 before it is decoded. */
  maxImageBytes: number;
  /** How long `url` images are kept (ms). */
  urlTtlMs: number;
  timeoutMs: number;
  publicUrl?: string;
  /** Classifies every generated image; flagged → 400 moderation_blocked. */
  safety?: SafetyChecker;
  log: (line: string) => void;
}

export interface KleinbildServer {
  app: FastifyInstance;
  files: FileStore;
  /** Refuse new requests (503), let the running image finish, fail the queued ones, stop listening. */
  close(): Promise<void>;
}

/** Constant-time comparison of two secrets of any length (their SHA-256 digests are compared). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

export async function buildServer(o: AppOptions): Promise<KleinbildServer> {
  let closing = false;
  const notes = new WeakMap<FastifyRequest, string>();
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimit, return503OnClosing: false, forceCloseConnections: 'idle' });
  const files = new FileStore(o.urlTtlMs);
  if (o.cors?.length) await app.register(cors, { origin: o.cors.includes('*') ? '*' : o.cors, exposedHeaders: ['x-request-id', 'retry-after'] });
  // fields: the image fields, and room for LORAS_MAX LoRAs as loras[][name] + loras[][strength] parts
  const fields = 32 + 2 * LORAS_MAX;
  await app.register(multipart, { limits: { fileSize: o.maxImageBytes, files: MAX_REFERENCES + 4, fields, fieldSize: 256 * 1024, parts: fields + MAX_REFERENCES + 12 } });

  app.setErrorHandler((err, _req, reply) => {
    const a = toApiError(err);
    if (a.retryAfter !== undefined) void reply.header('retry-after', String(a.retryAfter));
    if (a.status === 401) void reply.header('www-authenticate', 'Bearer');
    void reply.code(a.status).send(a.body);
  });
  app.setNotFoundHandler((req, reply) => {
    const a = new ApiError(404, `no route ${req.method} ${req.url.split('?')[0]}; see GET /v1/models, POST /v1/images/generations, POST /v1/images/edits`, 'invalid_request_error', null, 'unknown_url');
    void reply.code(404).send(a.body);
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
    if (closing) throw new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');
    if (o.apiKey && req.url.startsWith('/v1/') && !req.url.startsWith('/v1/images/files/') && req.method !== 'OPTIONS') {
      const auth = req.headers.authorization;
      if (!auth) throw new ApiError(401, "missing API key: send 'Authorization: Bearer <key>' (the server's --api-key)", 'invalid_request_error', null, 'invalid_api_key');
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !sameSecret(m[1] as string, o.apiKey)) throw new ApiError(401, 'incorrect API key', 'invalid_request_error', null, 'invalid_api_key');
    }
  });
  // While shutting down, a keep-alive connection would hold close() open for keepAliveTimeout (72 s).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const note = notes.get(req);
    o.log(`${req.id} ${req.method} ${req.url.split('?')[0]} ${reply.statusCode} ${reply.elapsedTime.toFixed(0)} ms${note ? ` ${note}` : ''}`);
  });

  app.get('/healthz', async (_req, reply) => {
    const e = o.engine;
    void reply.code(e.status === 'ready' ? 200 : 503);
    return {
      status: e.status,
      model: MODEL_ID,
      source: e.options.model,
      summary: e.info?.summary ?? null,
      reason: e.reason,
      queue: { running: e.queue.running ? 1 : 0, waiting: e.queue.size, limit: e.queue.limit },
      safety: o.safety ? { model: o.safety.config.model, flagged_labels: o.safety.config.flaggedLabels, threshold: o.safety.config.threshold } : null,
    };
  });
  // Extension: `loras`, the LoRAs requests may select (--lora-dir).
  const model = () => ({
    id: MODEL_ID, object: 'model', created: o.engine.readyAt, owned_by: 'kleinbild',
    loras: o.engine.loras().map((l) => ({ id: l.name, format: l.format, rank: l.rank })),
  });
  app.get('/v1/models', async () => ({ object: 'list', data: [model()] }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    if (req.params.id !== MODEL_ID) throw new ApiError(404, `the model '${req.params.id}' does not exist on this server; it serves '${MODEL_ID}'`, 'invalid_request_error', 'model', 'model_not_found');
    return model();
  });
  app.get<{ Params: { name: string } }>('/v1/images/files/:name', async (req, reply) => {
    const f = files.get(req.params.name);
    if (!f) throw new ApiError(404, `no image ${req.params.name}: unknown, or older than the server keeps them (${o.urlTtlMs / 1000} s)`, 'invalid_request_error', null, 'file_not_found');
    void reply.header('content-type', f.mediaType).header('cache-control', 'private, max-age=' + Math.max(0, Math.floor((f.expires - Date.now()) / 1000)));
    return Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  });
  registerImageRoutes(app, {
    engine: o.engine, files, timeoutMs: o.timeoutMs, ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
    closing: () => closing,
    note: (req, text) => notes.set(req, text),
    ...(o.safety ? { safety: o.safety } : {}),
  });

  return {
    app,
    files,
    async close() {
      if (closing) return;
      closing = true;
      o.engine.queue.rejectWaiting(new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down'));
      await app.close(); // waits for the running request: it ends after its current image
      files.dispose();
    },
  };
}
