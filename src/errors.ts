/**
 * The project's error classes, one module for every layer (GPU, weights, store, pipeline, UI).
 * Each carries enough numbers to act on; the UI shows `message`. `name` survives Comlink, so the UI
 * tells them apart by name. No class shadows a built-in.
 */

/** No WebGPU: `navigator.gpu` missing, no adapter, or a required limit/feature absent. */
export class WebGpuUnavailable extends Error {
  override name = 'WebGpuUnavailable';
}

/** The GPUDevice was lost (driver reset, tab backgrounded too long, out of memory). */
export class DeviceLost extends Error {
  override name = 'DeviceLost';
  constructor(readonly reason: string, detail: string) {
    super(`GPU device lost (${reason}): ${detail || 'no detail'}. Reload the model to continue.`);
  }
}

/** WGSL failed to compile or the pipeline failed validation; `file` is the shader file name. */
export class ShaderCompile extends Error {
  override name = 'ShaderCompile';
  constructor(readonly file: string, detail: string) {
    super(`shader ${file}: ${detail}`);
  }
}

/** A checkpoint tensor is missing or has the wrong shape/dtype: `name, expected, got`. */
export class WeightMismatch extends Error {
  override name = 'WeightMismatch';
  constructor(readonly tensor: string, expected: string, got: string) {
    super(`weight ${tensor}: expected ${expected}, got ${got}`);
  }
}

/** Invalid user input (size, steps, prompt, file) — the message says what is allowed. */
export class InvalidInput extends Error {
  override name = 'InvalidInput';
}

/** The run was cancelled by the caller. */
export class Cancelled extends Error {
  override name = 'Cancelled';
  constructor() {
    super('cancelled');
  }
}

/**
 * Data that does not match what it must be: a stored or downloaded chunk whose SHA-256 differs from
 * its manifest, or a file whose ETag changed between two requests of one download (it changed on the
 * server: bytes of two versions must not be mixed). `path` names the file or chunk.
 */
export class IntegrityFailure extends Error {
  override name = 'IntegrityFailure';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** Not enough storage: `needed` and `available` bytes are in the message. */
export class StorageFull extends Error {
  override name = 'StorageFull';
}
