/**
 * `kleinbild/sdk`: Kleinbild as an AI SDK provider (`ai`'s generateImage and friends) in server mode
 * (httpBackend.ts) or local mode (local.ts: WebGPU in an engine worker), and the engine itself as a
 * small API (createGenerator). Both backends sit behind the ImageBackend seam (backend.ts).
 */
export { createKleinbild, kleinbild, KLEIN_MODEL_ID, DEFAULT_BASE_URL } from './provider';
export type { KleinbildProvider, KleinbildProviderSettings, KleinbildImageModelOptions, KleinbildImageModelId } from './provider';
export { createKleinbildImageModel, MAX_IMAGES_PER_CALL } from './imageModel';
export type { KleinbildImageModelConfig } from './imageModel';
export { createHttpBackend } from './httpBackend';
export type { HttpBackendSettings } from './httpBackend';
export { sizeForAspectRatio, parseKleinbildOptions, toKleinbildRequest, MAX_REFERENCE_IMAGES } from './request';
export type { KleinbildProviderOptions } from './request';
export { OUTPUT_FORMATS } from './backend';
export type {
  ImageBackend,
  ImageBackendCall,
  ImageBackendResult,
  KleinbildImageMetadata,
  KleinbildImageRequest,
  KleinbildLora,
  KleinbildOutputFormat,
  KleinbildReferenceImage,
} from './backend';
export { createGenerator } from './generator';
export type * from './generator'; // Generator, its options, and the engine types it passes (worker/api.ts)
export type {
  AdapterCapabilities,
  Capabilities,
  GenerateCallOptions,
  GeneratePreview,
  GenerateProgress,
  GenerateRequest,
  GenerateResult,
  Generator,
  GeneratorOptions,
  LoadOptions,
  LoadProgress,
  LoraInfo,
  LoraUse,
  ModelInfo,
  ModelSource,
  Precision,
  ReferenceImage,
  Stage,
  StageTimings,
} from './generator';
export { createLocalBackend, DEFAULT_STEPS, DEFAULT_SIDE, MAX_REFERENCE_PIXELS } from './local';
export type { LocalBackend, LocalBackendOptions } from './local';
export { DEFAULT_MODEL } from '../worker/api';
