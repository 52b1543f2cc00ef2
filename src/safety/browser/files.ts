/**
 * The safety checker's built files, as URL paths of the app: its worker bundle (transformers.js,
 * onnxruntime-web's JS) and ONNX Runtime's `.wasm`/`.mjs`. The service worker caches them when the
 * checker is first used instead of precaching them (vite.config.ts), so users who never turn the
 * checker on never download them.
 */
export const SAFETY_RUNTIME = /\/assets\/(ort-wasm-[^/]+\.(wasm|mjs)|safetyWorker-[^/]+\.js)$/;
