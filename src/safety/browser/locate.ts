/**
 * Where the browser safety checker fetches its classifier (no Node APIs here): a hub repo id
 * (`owner/name`, from https://huggingface.co) or an http(s) URL of a folder laid out like a hub repo
 * (config.json, preprocessor_config.json, onnx/model*.onnx), e.g. `http://127.0.0.1:4180/safety-classifier`.
 */
import { InvalidInput } from '../../errors';

/** transformers.js' remote settings for one model: `${host}${pathTemplate}${file}` is each file's URL. */
export interface BrowserModelLocation {
  /** The model id transformers.js sees: the repo id, or `url/<16 hex digits>` per URL (it must look like a repo id). */
  id: string;
  /** `env.remoteHost`, ending in `/`. */
  host: string;
  /** `env.remotePathTemplate` (`{model}/resolve/{revision}/` for the hub). */
  pathTemplate: string;
}

export const HUB_HOST = 'https://huggingface.co/';
const HUB_TEMPLATE = '{model}/resolve/{revision}/';
const HUB_ID = /^[\w\-.]+\/[\w\-.]{1,96}$/;

/** 16 hex digits of two FNV-1a hashes of `s` (a repo-id-shaped cache key per URL; not cryptographic). */
function hashHex(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** Errors: InvalidInput when `model` is neither an http(s) URL nor a hub repo id (a local folder is Node-only). */
export function locateBrowserModel(model: string): BrowserModelLocation {
  if (/^https?:\/\//i.test(model)) {
    let u: URL;
    try {
      u = new URL(model);
    } catch {
      throw new InvalidInput(`safety model ${model}: not a valid URL`);
    }
    const path = u.pathname.replace(/^\/+|\/+$/g, '');
    return { id: `url/${hashHex(`${u.origin}/${path}`)}`, host: `${u.origin}/`, pathTemplate: path ? `${path}/` : '' };
  }
  if (HUB_ID.test(model) && !model.startsWith('.')) return { id: model, host: HUB_HOST, pathTemplate: HUB_TEMPLATE };
  throw new InvalidInput(`safety model ${model}: give a hub repo id (owner/name) or an http(s) URL of a model folder (a local folder works only in the CLI)`);
}
