/**
 * POST /v1/images/generations (JSON) and POST /v1/images/edits (multipart): fields checked
 * (imageRequest.ts), reference images counted, sized and checked before decoding, then the
 * engine runs the `n` images back to back (seeds seed, seed+1, …). The answer is OpenAI's
 * ImagesResponse, or with `stream: true` server-sent events `image_generation.partial_image` /
 * `image_generation.completed` (edits: `image_edit.*`), one `completed` per image.
 * With a safety checker every image is classified before it is encoded: a flagged one fails the
 * request with 400 `moderation_blocked` (an `error` event once streaming), and no partial images are
 * sent (a preview could show what the check would refuse; OpenAI allows fewer partials than asked).
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Cancelled } from '../errors';
import { defaultSizeFor, MAX_REFERENCES, validateReferences } from '../pipeline/references';
import type { GeneratePreview, GenerateRequest, GenerateResult, ReferenceImage } from '../pipeline/types';
import { decodeImage } from '../cli/imageDecode';
import { encodeImage, MEDIA_TYPES } from '../cli/imageEncode';
import type { SafetyChecker } from '../safety/checker';
import { formatScores } from '../safety/config';
import { ApiError, invalidField, moderationBlocked, toApiError } from './apiError';
import type { Engine } from './engine';
import type { FileStore } from './fileStore';
import { AUTO_SIDE, type ImageJob, parseImageFields } from './imageRequest';

export interface ImageRouteOptions {
  engine: Engine;
  files: FileStore;
  /** Longest a request may take, queue wait included (ms); then it is cancelled with a 504. */
  timeoutMs: number;
  /** Base of `url` responses (e.g. https://example.org); default: the request's own origin. */
  publicUrl?: string;
  /** True once shutdown began: the running image finishes, nothing new starts. */
  closing: () => boolean;
  /** What the request log line adds: size and n. */
  note: (req: FastifyRequest, text: string) => void;
  /** Classifies every image before it is sent; flagged → 400 moderation_blocked. */
  safety?: SafetyChecker;
}

/** One item of `data`: the image, and (extension) the seed that made it. */
interface ImageItem {
  b64_json?: string;
  url?: string;
  seed: number;
}

const FILE_FIELD = /^image(\[\d*\])?$/;
const LORA_PART = /^loras\[(\d*)\]\[([a-z_]+)\]$/;

/**
 * `loras` sent the way the official clients encode an array of objects in multipart (openai-node
 * uploads.ts, openai-python's brackets): `loras[][name]`, `loras[][strength]`, … in order, a key seen
 * again starting the next entry; or indexed, `loras[0][name]`. parseLoras checks the result.
 */
export class LoraParts {
  readonly entries: Record<string, string>[] = [];

  /** Takes a `loras[…][key]` field (true), or leaves any other field alone (false). */
  take(field: string, value: string): boolean {
    const m = LORA_PART.exec(field);
    if (!m) return false;
    const [, index, key] = m as unknown as [string, string, string];
    if (index !== '') {
      const i = Number(index);
      if (i > this.entries.length) throw invalidField('loras', `'${field}': the indices of loras[i][…] must count from 0 without gaps`, 'invalid_lora');
      (this.entries[i] ??= {})[key] = value;
    } else {
      const last = this.entries.at(-1);
      if (!last || key in last) this.entries.push({ [key]: value });
      else last[key] = value;
    }
    return true;
  }
}

/** Which steps' previews become partial images: `k` of `steps`, spread evenly, in order. */
export function partialSteps(k: number, steps: number): number[] {
  const out = new Set<number>();
  for (let j = 1; j <= k; j++) out.add(Math.max(1, Math.min(steps, Math.round((j * steps) / (k + 1)))));
  return [...out];
}

const toB64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function registerImageRoutes(app: FastifyInstance, o: ImageRouteOptions): void {
  app.post('/v1/images/generations', async (req, reply) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError(400, 'the body must be a JSON object with the OpenAI image generation fields (Content-Type: application/json)', 'invalid_request_error', null, 'invalid_json');
    }
    const job = parseImageFields(body as Record<string, unknown>, false, o.engine.distilled, o.engine.loraNames());
    return run(req, reply, job, [], 'image_generation');
  });

  app.post('/v1/images/edits', async (req, reply) => {
    if (!req.isMultipart()) {
      throw new ApiError(400, 'edits take multipart/form-data: image (or image[]) files and the fields as text', 'invalid_request_error', null, 'invalid_content_type');
    }
    const fields: Record<string, unknown> = {};
    const loraParts = new LoraParts();
    const uploads: Uint8Array[] = [];
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname === 'mask') {
          throw invalidField('mask', "'mask' is not supported: Kleinbild does not inpaint; send the images and a prompt without a mask", 'unsupported_parameter');
        }
        if (!FILE_FIELD.test(part.fieldname)) throw invalidField(part.fieldname, `unknown file field '${part.fieldname}'; send the images as 'image' or 'image[]'`, 'unknown_parameter');
        if (uploads.length >= MAX_REFERENCES) throw invalidField('image', `at most ${MAX_REFERENCES} images per edit`, 'too_many_images');
        uploads.push(new Uint8Array(await part.toBuffer())); // 413 past --max-image-mb, before decoding
      } else {
        if (part.fieldname === 'mask') throw invalidField('mask', "'mask' is not supported: Kleinbild does not inpaint", 'unsupported_parameter');
        if (!loraParts.take(part.fieldname, String(part.value))) fields[part.fieldname] = String(part.value);
      }
    }
    if (loraParts.entries.length) {
      if (fields.loras !== undefined) throw invalidField('loras', "give 'loras' once: as one JSON string or as loras[][name] / loras[][strength] parts", 'invalid_lora');
      fields.loras = loraParts.entries;
    }
    const job = parseImageFields(fields, true, o.engine.distilled, o.engine.loraNames());
    if (uploads.length === 0) throw invalidField('image', "'image' is required: 1 to 4 PNG, JPEG or WebP files", 'missing_required_parameter');
    const refs: ReferenceImage[] = [];
    for (const [k, bytes] of uploads.entries()) {
      try {
        refs.push(await decodeImage(bytes, `image ${k + 1}`)); // its header's size is checked before decoding
      } catch (e) {
        const a = toApiError(e);
        throw a.status === 400 ? invalidField('image', a.message, 'invalid_image') : a;
      }
    }
    try {
      validateReferences(refs);
    } catch (e) {
      throw invalidField('image', toApiError(e).message, 'invalid_image');
    }
    return run(req, reply, job, refs, 'image_edit');
  });

  async function run(req: FastifyRequest, reply: FastifyReply, job: ImageJob, refs: ReferenceImage[], event: 'image_generation' | 'image_edit'): Promise<unknown> {
    const size = job.size === 'auto' ? (defaultSizeFor(refs) ?? { width: AUTO_SIDE, height: AUTO_SIDE }) : job.size;
    const seed = job.seed ?? randomInt(0, 2 ** 32 - job.n);
    const steps = job.steps ?? o.engine.defaultSteps;
    const requests: GenerateRequest[] = Array.from({ length: job.n }, (_, i) => ({
      prompt: job.prompt, width: size.width, height: size.height, steps, seed: seed + i,
      ...(refs.length ? { references: refs } : {}),
      ...(job.guidance !== undefined ? { guidance: job.guidance } : {}),
      ...(job.negativePrompt ? { negativePrompt: job.negativePrompt } : {}),
      ...(job.loras ? { loras: job.loras } : {}),
    }));
    const sizeText = `${size.width}x${size.height}`;
    const noteText = `size ${sizeText} n ${job.n}${refs.length ? ` refs ${refs.length}` : ''}${job.loras ? ` loras ${job.loras.length}` : ''}${job.stream ? ' stream' : ''}`;
    o.note(req, noteText);

    // Cancelled when the client goes away, or after --timeout.
    const ac = new AbortController();
    let timedOut = false;
    const onClose = () => {
      if (!reply.raw.writableEnded) ac.abort();
    };
    reply.raw.on('close', onClose);
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, o.timeoutMs);

    const created = Math.floor(Date.now() / 1000);
    const common = { background: 'opaque', output_format: job.outputFormat, quality: 'auto' };
    const encode = (r: { rgba: Uint8ClampedArray; width: number; height: number }) => encodeImage(r.rgba, r.width, r.height, job.outputFormat, job.outputCompression);

    // Streaming: the event stream starts with the first event, so that every error before it
    // (busy, too large for this GPU, loading) is still a plain JSON error with its status.
    let streaming = false;
    const send = (type: string, payload: object) => {
      if (!streaming) {
        streaming = true;
        reply.hijack();
        reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': req.id });
      }
      reply.raw.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`);
    };
    const wanted = job.stream && !o.safety ? partialSteps(job.partialImages, steps) : [];
    let partialIndex = 0;
    let partials: Promise<void> = Promise.resolve(); // partial images go out in order, before their image
    const preview = job.stream && wanted.length
      ? (_i: number, p: GeneratePreview) => {
          if (!wanted.includes(p.step)) return;
          const index = partialIndex++;
          const rgba = p.rgba.slice(); // the engine may reuse the preview's buffer
          partials = partials.then(async () => {
            const bytes = await encode({ ...p, rgba });
            if (!ac.signal.aborted) send(`${event}.partial_image`, { ...common, b64_json: toB64(bytes), created_at: Math.floor(Date.now() / 1000), size: `${p.width}x${p.height}`, partial_image_index: index });
          });
        }
      : undefined;

    const data: ImageItem[] = [];
    const onImage = async (i: number, r: GenerateResult) => {
      partialIndex = 0;
      if (o.safety) {
        const verdict = await o.safety.check(r.rgba, r.width, r.height);
        if (verdict.flagged) {
          o.note(req, `${noteText} moderation_blocked (image ${i + 1}: ${formatScores(verdict.scores)})`);
          throw moderationBlocked(`${formatScores(verdict.scores)}; flagged at ≥ ${o.safety.config.threshold} for ${o.safety.config.flaggedLabels.join(', ')}`);
        }
      }
      const bytes = await encode(r);
      await partials;
      if (job.stream) {
        send(`${event}.completed`, { ...common, b64_json: toB64(bytes), created_at: Math.floor(Date.now() / 1000), size: sizeText, seed: r.seed });
      } else if (job.responseFormat === 'url') {
        const name = o.files.put(bytes, MEDIA_TYPES[job.outputFormat], job.outputFormat === 'jpeg' ? 'jpg' : job.outputFormat);
        const base = o.publicUrl ?? `${req.protocol}://${req.host}`;
        data[i] = { url: `${base.replace(/\/$/, '')}/v1/images/files/${name}`, seed: r.seed };
      } else {
        data[i] = { b64_json: toB64(bytes), seed: r.seed };
      }
    };
    try {
      await o.engine.generate(requests, ac.signal, onImage, { ...(preview ? { preview } : {}), stopAfterImage: o.closing });
    } catch (e) {
      const a = e instanceof Cancelled && timedOut
        ? new ApiError(504, `the request took longer than the server's limit of ${o.timeoutMs / 1000} s (--timeout) and was cancelled`, 'server_error', null, 'timeout')
        : toApiError(e);
      if (!streaming) throw a;
      reply.raw.write(`event: error\ndata: ${JSON.stringify({ type: 'error', ...a.body })}\n\n`);
      reply.raw.end();
      return reply;
    } finally {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    }
    if (streaming) {
      reply.raw.end();
      return reply;
    }
    return { created, data, ...common, size: sizeText };
  }
}
