/**
 * The seam between the AI SDK image model (imageModel.ts) and whatever renders the images.
 *
 * The model maps the AI SDK's `ImageModelV3CallOptions` to one `KleinbildImageRequest` (request.ts:
 * prompt, size or aspect ratio, reference images, provider options, warnings) and hands it to an
 * `ImageBackend`. Server mode uses httpBackend.ts (our OpenAI-compatible server); a local mode can
 * supply a worker-backed backend with the same contract, and reuses the mapping unchanged.
 */

/** Encodings the backends can return; `png` unless `providerOptions.kleinbild.outputFormat` says otherwise. */
export type KleinbildOutputFormat = 'png' | 'jpeg' | 'webp';

/** The output formats, for validation and docs. */
export const OUTPUT_FORMATS: readonly KleinbildOutputFormat[] = ['png', 'jpeg', 'webp'];

/** One reference image, already downloaded/decoded: encoded file bytes (PNG, JPEG, WebP…) and their media type. */
export type KleinbildReferenceImage = {
  /** IANA media type as given by the caller or the download's Content-Type, e.g. `image/png`. */
  mediaType: string;
  /** The encoded file, unchanged (not decoded pixels). */
  data: Uint8Array;
};

/** A LoRA the backend holds (server: its --lora-dir; local: Generator.addLora), by name, and its strength (1: as trained). */
export type KleinbildLora = {
  name: string;
  strength: number;
};

/**
 * One generation request, backend-neutral. Fields that are `undefined` mean "the backend's default"
 * and are not sent to the server.
 */
export type KleinbildImageRequest = {
  /** Model id, e.g. `flux.2-klein-4b` (KLEIN_MODEL_ID). */
  modelId: string;
  prompt: string;
  /** Images to return from this one call, ≥ 1 (the AI SDK splits bigger batches by maxImagesPerCall). */
  n: number;
  /** `WxH` in pixels, exactly as the caller gave it or as derived from an aspect ratio (request.ts). */
  size: `${number}x${number}` | undefined;
  seed: number | undefined;
  /** Denoising steps (klein is distilled for 4). */
  steps: number | undefined;
  guidance: number | undefined;
  negativePrompt: string | undefined;
  outputFormat: KleinbildOutputFormat;
  /** Reference images for editing, 0–MAX_REFERENCE_IMAGES; empty for text-to-image. */
  images: KleinbildReferenceImage[];
  /** LoRAs applied to every image (`providerOptions.kleinbild.loras`); absent or empty: none. */
  loras?: KleinbildLora[];
};

/** Per-image facts a backend may report; passed through as `providerMetadata.kleinbild.images[i]`. */
export type KleinbildImageMetadata = {
  /** The seed this image was actually rendered with (the server may report it per image). */
  seed?: number;
};

/** What a backend returns for one request. */
export type ImageBackendResult = {
  /** The encoded images (format = request.outputFormat): base64 strings (server) or bytes (local), as produced. */
  images: string[] | Uint8Array[];
  /** One entry per image, same order as `images`; absent when the backend reports nothing per image. */
  imageMetadata?: KleinbildImageMetadata[];
  /** Response headers (HTTP backends), as a plain object with lower-case names. */
  headers?: Record<string, string>;
};

/** Per-call transport details, separate from the request so non-HTTP backends can ignore them. */
export type ImageBackendCall = {
  /** Cancels the call; a backend rejects with the signal's reason (an `AbortError` for fetch). */
  abortSignal: AbortSignal | undefined;
  /** Extra request headers for HTTP backends (already without undefined values). */
  headers: Record<string, string>;
};

/** Renders one request. Throws `APICallError` (HTTP) or the backend's own errors; never resolves with 0 images silently on failure. */
export interface ImageBackend {
  generate(request: KleinbildImageRequest, call: ImageBackendCall): Promise<ImageBackendResult>;
}
