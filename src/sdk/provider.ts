/**
 * The `kleinbild` AI SDK provider: image models that call our OpenAI-compatible server, or (local
 * mode) render in this browser on WebGPU in an engine worker.
 *
 *   import { generateImage } from 'ai';
 *   import { createKleinbild, KLEIN_MODEL_ID } from './sdk';
 *   const kleinbild = createKleinbild({ baseURL: 'http://127.0.0.1:8080/v1' });
 *   const { image } = await generateImage({ model: kleinbild.image(KLEIN_MODEL_ID), prompt: 'a red fox', aspectRatio: '16:9' });
 *   // local mode: the model is downloaded from the hub into this tab
 *   const local = kleinbild.image(KLEIN_MODEL_ID, { local: true, load: { quant: 'q4' } });
 *   // local mode with LoRAs: a Generator of your own, its LoRAs added (providerOptions.kleinbild.loras selects them)
 *   const generator = createGenerator({ model: DEFAULT_MODEL });
 *   await generator.addLora('style', loraBytes);
 *   const styled = kleinbild.image(KLEIN_MODEL_ID, { local: true, generator });
 *
 * The provider follows ProviderV3 (usable in createProviderRegistry); only image models exist.
 */
import { NoSuchModelError, type ImageModelV3, type ProviderV3 } from '@ai-sdk/provider';
import { createHttpBackend } from './httpBackend';
import { createKleinbildImageModel } from './imageModel';
import { createLocalBackend, type LocalBackend } from './local';
import type { Generator, LoadOptions, ModelSource } from './generator';

/** FLUX.2 [klein] 4B, the model our server serves. */
export const KLEIN_MODEL_ID = 'flux.2-klein-4b';

/** Known model ids, with any other string still allowed (the server decides). */
export type KleinbildImageModelId = typeof KLEIN_MODEL_ID | (string & {});

/** The server's default `/v1` root: a server on this machine, port 8080. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080/v1';

export type KleinbildProviderSettings = {
  /** The server's `/v1` root; default DEFAULT_BASE_URL; a trailing slash is tolerated. */
  baseURL?: string;
  /** Sent as `Authorization: Bearer <apiKey>`; no Authorization header when unset. */
  apiKey?: string;
  /** Sent with every request; per-call `headers` override them. */
  headers?: Record<string, string>;
  /** Used for the API calls and for downloading `{type: 'url'}` reference images; default the global fetch. */
  fetch?: typeof fetch;
};

/** Per-model settings: server mode (the default) or local mode. */
export type KleinbildImageModelOptions =
  | {
      local?: false;
      /** Overrides the provider's baseURL for this model. */
      baseURL?: string;
    }
  | {
      /**
       * Render in this browser tab (WebGPU, an engine worker; createLocalBackend) instead of calling
       * the server. The model id is then only a label: `model` says what is loaded.
       */
      local: true;
      /** Hub repo id, http(s) base URL or `store:<id>`; default DEFAULT_MODEL (FLUX.2-klein-4B on the hub). */
      model?: ModelSource;
      /** Quantization, low-memory mode, precision. */
      load?: LoadOptions;
      /**
       * Render with this Generator (createGenerator), e.g. one with LoRAs added (generator.addLora),
       * which `providerOptions.kleinbild.loras` then selects; `model` and `load` are then not used.
       */
      generator?: Generator;
    };

export interface KleinbildProvider extends ProviderV3 {
  /**
   * An image model served at `options.baseURL ?? settings.baseURL`, or with `{ local: true }` rendered
   * in this browser. Local models with the same `model` and `load` share one engine worker (one
   * loaded model) for the provider's lifetime, so calling image() per request does not reload.
   */
  image(modelId: KleinbildImageModelId, options?: KleinbildImageModelOptions): ImageModelV3;
  /** Alias of `image`. */
  imageModel(modelId: KleinbildImageModelId, options?: KleinbildImageModelOptions): ImageModelV3;
}

/** Creates a provider; settings are read once here (the apiKey is not re-read per call). */
export function createKleinbild(settings: KleinbildProviderSettings = {}): KleinbildProvider {
  // Resolved per call, not captured: a test or app may replace globalThis.fetch later.
  const fetchFn: typeof fetch = settings.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const headers: Record<string, string> = {
    ...(settings.apiKey !== undefined ? { authorization: `Bearer ${settings.apiKey}` } : {}),
    ...settings.headers,
  };
  /** Local backends by JSON of [model, load]: one worker and one loaded model each. */
  const localBackends = new Map<string, LocalBackend>();
  const localBackend = (model: ModelSource | undefined, load: LoadOptions | undefined): LocalBackend => {
    const key = JSON.stringify([model ?? null, load ?? null]);
    let backend = localBackends.get(key);
    if (!backend) {
      backend = createLocalBackend({ ...(model !== undefined ? { model } : {}), ...(load !== undefined ? { load } : {}) });
      localBackends.set(key, backend);
    }
    return backend;
  };
  const image = (modelId: KleinbildImageModelId, options: KleinbildImageModelOptions = {}): ImageModelV3 =>
    createKleinbildImageModel({
      modelId,
      backend: options.local
        ? options.generator ? createLocalBackend({ generator: options.generator }) : localBackend(options.model, options.load)
        : createHttpBackend({ baseURL: options.baseURL ?? settings.baseURL ?? DEFAULT_BASE_URL, headers, fetch: fetchFn }),
      fetch: fetchFn,
    });
  return {
    specificationVersion: 'v3',
    image,
    imageModel: image,
    languageModel(modelId: string): never {
      throw new NoSuchModelError({ modelId, modelType: 'languageModel', message: `kleinbild has image models only; no language model ${modelId}` });
    },
    embeddingModel(modelId: string): never {
      throw new NoSuchModelError({ modelId, modelType: 'embeddingModel', message: `kleinbild has image models only; no embedding model ${modelId}` });
    },
  };
}

/** The default provider: the server at DEFAULT_BASE_URL, no API key (and local mode with `{ local: true }`). */
export const kleinbild = createKleinbild();
