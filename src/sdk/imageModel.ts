/**
 * The AI SDK image model (ImageModelV3) over any ImageBackend: request.ts maps the call options,
 * the backend renders, and this file shapes the result. Server and local modes differ only in the
 * backend they pass in.
 * Source: ImageModelV3 in @ai-sdk/provider (vercel/ai packages/provider/src/image-model/v3/image-model-v3.ts).
 */
import type { ImageModelV3, ImageModelV3CallOptions } from '@ai-sdk/provider';
import type { ImageBackend, KleinbildImageMetadata } from './backend';
import { PROVIDER, toKleinbildRequest } from './request';

/** Images per doGenerate call; `generateImage` splits a bigger `n` into parallel calls of at most this many. */
export const MAX_IMAGES_PER_CALL = 10;

/** Result of doGenerate (the ImageModelV3 contract). */
type DoGenerateResult = Awaited<ReturnType<ImageModelV3['doGenerate']>>;

/** What a model needs: its id, the backend that renders, and a fetch for `{type: 'url'}` reference images. */
export type KleinbildImageModelConfig = {
  modelId: string;
  backend: ImageBackend;
  fetch: typeof fetch;
};

/** Drops the undefined values the AI SDK allows in call headers. */
function definedHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * An ImageModelV3 for `config.modelId`. doGenerate returns the backend's images unchanged (base64 from
 * the server, bytes from a local backend), the mapping's warnings, the response headers, and
 * `providerMetadata.kleinbild.images[i] = {seed?}` (the seed each image was rendered with, when reported).
 * Throws what request.ts and the backend throw (InvalidPromptError, InvalidArgumentError, APICallError, aborts).
 */
export function createKleinbildImageModel(config: KleinbildImageModelConfig): ImageModelV3 {
  const { modelId, backend } = config;
  return {
    specificationVersion: 'v3',
    provider: PROVIDER,
    modelId,
    maxImagesPerCall: MAX_IMAGES_PER_CALL,
    async doGenerate(options: ImageModelV3CallOptions): Promise<DoGenerateResult> {
      const timestamp = new Date();
      const { request, warnings } = await toKleinbildRequest(options, { modelId, fetch: config.fetch });
      const result = await backend.generate(request, { abortSignal: options.abortSignal, headers: definedHeaders(options.headers) });
      const metadata: KleinbildImageMetadata[] = result.imageMetadata ?? result.images.map(() => ({}));
      return {
        images: result.images,
        warnings,
        response: { timestamp, modelId, headers: result.headers },
        providerMetadata: { [PROVIDER]: { images: metadata.map((m) => (m.seed === undefined ? {} : { seed: m.seed })) } },
      };
    },
  };
}
