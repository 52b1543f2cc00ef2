/**
 * The engine's error classes. Each carries enough numbers to act on; the UI shows `message`.
 * No class shadows a built-in.
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
