/**
 * THE contract between the UI thread and the engine worker (Comlink): the worker's surface
 * (GeneratorApi) and, re-exported, every type that crosses it — the engine's request/result types
 * (src/pipeline/types.ts, the same ones the Node CLI passes to `Pipeline`), the store's, the
 * adapter report.
 */
import type { AdapterReport } from '../gpu/device';
import type { GeneratePreview, GenerateProgress, GenerateRequest, GenerateResult, LoadOptions, LoadProgress, LoraInfo, ModelInfo, ModelSource } from '../pipeline/types';
import type { DownloadPlan, DownloadProgress, StorageReport, StoredModel } from '../store/types';
import type { ImportPlan } from '../store/importFolder';
import type { FitVerdict, GpuFit } from '../pipeline/gpuFit';
import type { LocalFile } from '../weights/fileListSource';
import type { PackQuant } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';

export type * from '../pipeline/types';
export { DEFAULT_MODEL } from '../catalog/choices';

/**
 * The GPU adapter and the device the engine got from it (the UI's capability report): vendor,
 * fallback/CPU flags, enabled and offered features, subgroup sizes, the maximized limits (src/gpu/device.ts).
 */
export type AdapterCapabilities = AdapterReport;

export interface Capabilities {
  /** null when WebGPU works; otherwise the message to show. */
  error: string | null;
  adapter: AdapterCapabilities | null;
}

export type { DownloadPlan, DownloadProgress, FitVerdict, GpuFit, ImportPlan, LocalFile, PackQuant, PackRecipe, StorageReport, StoredModel };

/** What the worker exposes through Comlink. Callbacks must be wrapped in `Comlink.proxy`. */
export interface GeneratorApi {
  capabilities(): Promise<Capabilities>;
  /**
   * Whether this GPU can run FLUX.2 [klein] 4B stored as `quant` at `width`×`height`, before any
   * download: the plan's peak memory (normal and low-memory mode), largest buffer and binding
   * against the adapter's limits and navigator.deviceMemory (src/pipeline/gpuFit.ts). Rejects like
   * capabilities() reports (no WebGPU). `groups`: q4 group sizes of a GGUF repack (ModelChoice.repackGroup).
   */
  gpuFit(quant: PackQuant, width: number, height: number, groups?: Partial<Record<'text_encoder' | 'transformer', number>>): Promise<GpuFit>;
  /**
   * Loads a model, replacing the loaded one. A stored model (`store:<id>`) stays held (its Web Lock,
   * shared) until another model is loaded, the device is lost or the worker ends: it cannot be
   * deleted meanwhile (StoredModel.loaded). InvalidInput while it is being downloaded or deleted.
   */
  load(source: ModelSource, onProgress: (p: LoadProgress) => void, options?: LoadOptions): Promise<ModelInfo>;
  /**
   * `onPreview`, when given, receives a GeneratePreview after every step (the first call with it
   * fits the model's preview map: two small VAE decodes, once per loaded model).
   */
  generate(req: GenerateRequest, onProgress: (p: GenerateProgress) => void, onPreview?: (p: GeneratePreview) => void): Promise<GenerateResult>;
  /** Cancels the running generate(); it rejects with an error named 'Cancelled'. */
  cancel(): void;
  /**
   * Parses a LoRA `.safetensors` file for the loaded model and keeps it under `name` (replacing one of
   * that name) until removeLora, another load() or the worker ends; requests use it through
   * GenerateRequest.loras. Errors: InvalidInput naming the file and the first offending keys (not a
   * safetensors file or truncated, another model's LoRA, a text-encoder LoRA, DoRA/LoKr…), or when no
   * model is loaded. The stored weights are not touched: switching or removing a LoRA needs no reload.
   */
  addLora(name: string, bytes: Uint8Array): Promise<LoraInfo>;
  /** Forgets the LoRA `name` (no-op when unknown). */
  removeLora(name: string): Promise<void>;
  /** The models in this browser's storage (complete and partial), usage, quota and persistence. */
  storage(): Promise<StorageReport>;
  /** What downloading `recipe` would fetch (reads headers only); storedBytes > 0 means it resumes. */
  planDownload(recipe: PackRecipe): Promise<DownloadPlan>;
  /**
   * Downloads (or resumes) `recipe` into the store (src/store/download.ts); one at a time. Errors:
   * StorageFull (quota; what is stored is kept), Cancelled, InvalidInput (busy in another tab),
   * IntegrityFailure, network errors after retries. Progress at most every 250 ms.
   */
  download(recipe: PackRecipe, onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  /**
   * What importing a local folder (files from a directory picker or a drop, paths inside the folder)
   * would store: a Kleinbild pack is copied as it is, a diffusers model converted to `quant`.
   * InvalidInput when the files hold neither.
   */
  planImport(files: LocalFile[], quant: PackQuant): Promise<ImportPlan>;
  /**
   * Imports (or resumes importing) a local folder into the store, without the network; one download
   * or import at a time. Errors as download(), and cancelDownload() cancels it.
   */
  importFolder(files: LocalFile[], quant: PackQuant, onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  /** Cancels the running download() or importFolder(); it rejects with an error named 'Cancelled'. */
  cancelDownload(): void;
  /**
   * Deletes a stored model (complete or partial). InvalidInput, saying which, while a tab downloads
   * it or has it loaded (this tab included: load another model first).
   */
  deleteModel(id: string): Promise<void>;
  /**
   * Drops the loaded model (its GPU weights, and its hold on a stored model, so that it can be
   * deleted). InvalidInput while a generation runs.
   */
  unload(): Promise<void>;
}
