/**
 * The HTTP security headers of the built app, in one place: `vite preview` sends them
 * (vite.config.ts) and the build writes them to `dist/_headers`, the file Netlify and Cloudflare
 * Pages read (other hosts: docs/deploy.md). Checked by e2e/headers.spec.ts, which also runs the app
 * under them and expects no Content-Security-Policy violation.
 *
 * connect-src: the app fetches model files from the Hugging Face hub, which redirects to its CDNs
 * (cdn-lfs.hf.co, cas-bridge.xethub.hf.co, …, hosts that change), and from any https URL a user
 * types or a kiosk config names, so every https origin is allowed; plain http only for this machine
 * (a local model server; browsers block http from an https page anyway). script-src 'self': every
 * script is a built file (no inline script, no eval); 'wasm-unsafe-eval' lets the safety checker's
 * ONNX Runtime Web compile its WebAssembly (same-origin .wasm, src/safety/browser/safetyWorker.ts). img-src data: and blob: hold the generated images, thumbnails and
 * references. The dev server is left without them (its hot reload injects inline scripts).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY', // frame-ancestors for browsers without CSP level 2
  'Referrer-Policy': 'no-referrer', // model hosts never learn which page asked
  // Nothing here uses these; fullscreen (kiosk) and clipboard-write (Copy image) keep their default (self).
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), bluetooth=(), interest-cohort=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** `dist/_headers` (Netlify / Cloudflare Pages format): the headers for every path. */
export function headersFile(): string {
  return ['/*', ...Object.entries(SECURITY_HEADERS).map(([k, v]) => `  ${k}: ${v}`), ''].join('\n');
}
