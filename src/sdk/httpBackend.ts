/**
 * Server mode: an ImageBackend that talks to our OpenAI-compatible server (src/server/) over HTTP.
 *
 * - text-to-image: `POST {baseURL}/images/generations`, JSON body;
 * - with reference images: `POST {baseURL}/images/edits`, multipart/form-data with the same fields
 *   as strings (`loras` as its JSON) plus one `image[]` file part per image (openai-node's array
 *   encoding, uploads.ts);
 * - response `{created, data: [{b64_json, seed?}], output_format, size}`;
 * - errors: HTTP status + `{error: {message, type, param, code}}` → APICallError (retryable: 429, ≥ 500).
 * Sources: openai-node src/resources/images.ts and src/core/error.ts; the APICallError fields follow
 * @ai-sdk/provider-utils' postToApi / createJsonErrorResponseHandler.
 * Only fetch, FormData and Blob: no Node-only imports (this bundles for the browser).
 */
import { APICallError } from '@ai-sdk/provider';
import type { ImageBackend, ImageBackendCall, ImageBackendResult, KleinbildImageMetadata, KleinbildImageRequest } from './backend';

/** How to reach the server. */
export type HttpBackendSettings = {
  /** The server's `/v1` root, e.g. `http://127.0.0.1:8080/v1`; a trailing slash is tolerated. */
  baseURL: string;
  /** Sent with every request (Authorization, the provider's headers); call headers override them. */
  headers: Record<string, string>;
  fetch: typeof fetch;
};

/** The request fields shared by both endpoints; undefined extensions are left out. */
function requestFields(request: KleinbildImageRequest): Record<string, string | number> {
  const fields: Record<string, string | number> = { model: request.modelId, prompt: request.prompt, n: request.n };
  if (request.size !== undefined) fields.size = request.size;
  fields.response_format = 'b64_json';
  fields.output_format = request.outputFormat;
  if (request.seed !== undefined) fields.seed = request.seed;
  if (request.steps !== undefined) fields.steps = request.steps;
  if (request.guidance !== undefined) fields.guidance = request.guidance;
  if (request.negativePrompt !== undefined) fields.negative_prompt = request.negativePrompt;
  return fields;
}

/** `image/png` → `png`, `image/jpeg` → `jpg`, anything unrecognised → `bin` (the server reads the part's type, not its name). */
function extensionOf(mediaType: string): string {
  const subtype = /^image\/([a-z0-9]+)/i.exec(mediaType)?.[1]?.toLowerCase();
  return subtype === undefined ? 'bin' : subtype === 'jpeg' ? 'jpg' : subtype;
}

/** Response headers as a plain object (names lower-cased by the Headers class). */
function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** JSON.parse that answers undefined for a body that is not JSON (an HTML error page from a proxy, say). */
function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's `error.message`, when the body is `{error: {message: string}}`. */
function serverMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (typeof error !== 'object' || error === null || !('message' in error)) return undefined;
  return typeof error.message === 'string' ? error.message : undefined;
}

/** Checks `{data: [{b64_json: string, seed?: number}]}`; returns the problem, or undefined when it fits. */
function responseProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('data' in body) || !Array.isArray(body.data)) return 'no data array';
  for (const [i, item] of (body.data as unknown[]).entries()) {
    if (typeof item !== 'object' || item === null) return `data[${i}] is not an object`;
    if (!('b64_json' in item) || typeof item.b64_json !== 'string') return `data[${i}].b64_json is not a string (was response_format ignored?)`;
    if ('seed' in item && item.seed !== undefined && item.seed !== null && typeof item.seed !== 'number') return `data[${i}].seed is not a number`;
  }
  return undefined;
}

type ImagesResponseItem = { b64_json: string; seed?: number | null };

/** Creates the server-mode backend. Throws APICallError for HTTP errors, unreachable servers and malformed responses; rethrows aborts as they come. */
export function createHttpBackend(settings: HttpBackendSettings): ImageBackend {
  const root = settings.baseURL.replace(/\/+$/, '');
  return {
    async generate(request: KleinbildImageRequest, call: ImageBackendCall): Promise<ImageBackendResult> {
      const fields = requestFields(request);
      const headers: Record<string, string> = { ...settings.headers, ...call.headers };
      let url: string;
      let body: string | FormData;
      let requestBodyValues: unknown;
      if (request.images.length === 0) {
        url = `${root}/images/generations`;
        const json = request.loras?.length ? { ...fields, loras: request.loras } : fields;
        body = JSON.stringify(json);
        requestBodyValues = json;
        headers['content-type'] = 'application/json';
      } else {
        url = `${root}/images/edits`;
        const form = new FormData();
        const formFields = request.loras?.length ? { ...fields, loras: JSON.stringify(request.loras) } : fields;
        for (const [name, value] of Object.entries(formFields)) form.append(name, String(value));
        request.images.forEach((image, i) => {
          // Copy into a fresh ArrayBuffer-backed view: BlobPart does not take a SharedArrayBuffer view.
          form.append('image[]', new Blob([new Uint8Array(image.data)], { type: image.mediaType }), `image${i}.${extensionOf(image.mediaType)}`);
        });
        body = form;
        // The files as summaries: an error report should not carry megabytes of image bytes.
        requestBodyValues = { ...formFields, 'image[]': request.images.map((image) => ({ mediaType: image.mediaType, bytes: image.data.byteLength })) };
        // No content-type: fetch sets multipart/form-data with its boundary.
      }

      let response: Response;
      try {
        response = await settings.fetch(url, { method: 'POST', headers, body, ...(call.abortSignal ? { signal: call.abortSignal } : {}) });
      } catch (cause) {
        if (call.abortSignal?.aborted) throw cause; // cancelled by the caller: not an API failure, not retried
        throw new APICallError({
          message: `cannot reach the Kleinbild server at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`,
          url,
          requestBodyValues,
          cause,
          isRetryable: true,
        });
      }
      const responseHeaders = headersObject(response.headers);
      const responseBody = await response.text();
      const parsed = parseJsonOrUndefined(responseBody);

      if (!response.ok) {
        const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
        throw new APICallError({
          message: serverMessage(parsed) ?? `${status} from ${url}${responseBody ? `: ${responseBody.slice(0, 200)}` : ''}`,
          url,
          requestBodyValues,
          statusCode: response.status,
          responseHeaders,
          responseBody,
          isRetryable: response.status === 429 || response.status >= 500,
          data: parsed,
        });
      }
      const problem = parsed === undefined ? 'the body is not JSON' : responseProblem(parsed);
      if (problem !== undefined) {
        throw new APICallError({
          message: `invalid response from ${url}: ${problem}`,
          url,
          requestBodyValues,
          statusCode: response.status,
          responseHeaders,
          responseBody,
          isRetryable: false,
          data: parsed,
        });
      }
      const data = (parsed as { data: ImagesResponseItem[] }).data;
      return {
        images: data.map((item) => item.b64_json),
        imageMetadata: data.map((item): KleinbildImageMetadata => (typeof item.seed === 'number' ? { seed: item.seed } : {})),
        headers: responseHeaders,
      };
    },
  };
}
