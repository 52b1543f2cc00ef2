/**
 * PNG export with generation parameters as text chunks. One chunk per field, keyword → value:
 *   Software   "Kleinbild"
 *   prompt     the prompt as typed
 *   seed       e.g. "1234"
 *   size       "WIDTHxHEIGHT", e.g. "1024x1024"
 *   steps      e.g. "4"
 *   model      the model source (hub repo id or URL)
 *   guidance   base models only: the guidance scale, e.g. "3.5"
 *   negative_prompt  base models only, when not empty: the negative prompt as typed
 *   loras      only when LoRAs were applied: JSON [{"name": "x.safetensors", "strength": 0.8}, …]
 *   parameters all of the above in the common "prompt\n[Negative prompt: …\n]Steps: 4, Seed: …[, CFG scale: 3.5]"
 *              form that image viewers and galleries read (", LoRAs: x.safetensors:0.8, …" appended when used)
 * Values that are Latin-1 go in tEXt chunks (through fast-png); a value with other characters (a
 * non-Latin-1 prompt) goes in an uncompressed UTF-8 iTXt chunk instead, as the PNG spec asks.
 * Pixels are written as 8-bit RGB: the engine's alpha is always 255.
 */
import { encode } from 'fast-png';

export interface PngMetadata {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  steps: number;
  model: string;
  /** Classifier-free guidance scale (base models; 0–20 from the app); absent for a distilled model. */
  guidance?: number;
  /** Negative prompt (base models); absent or empty: not written. */
  negativePrompt?: string;
  /** The LoRAs applied (GenerateRequest.loras); absent or empty: none. */
  loras?: readonly { name: string; strength: number }[];
}

export const SOFTWARE = 'Kleinbild';

/** The keyword → value pairs written for `m` (see the file comment). */
export function pngText(m: PngMetadata): Record<string, string> {
  const size = `${m.width}x${m.height}`;
  const negative = m.negativePrompt ? m.negativePrompt : null;
  const cfg = m.guidance !== undefined ? `, CFG scale: ${m.guidance}` : '';
  const text: Record<string, string> = {
    Software: SOFTWARE,
    prompt: m.prompt,
    seed: String(m.seed),
    size,
    steps: String(m.steps),
    model: m.model,
    ...(m.guidance !== undefined ? { guidance: String(m.guidance) } : {}),
    ...(negative !== null ? { negative_prompt: negative } : {}),
    parameters: `${m.prompt}\n${negative !== null ? `Negative prompt: ${negative}\n` : ''}Steps: ${m.steps}, Seed: ${m.seed}, Size: ${size}${cfg}, Model: ${m.model}`,
  };
  if (m.loras?.length) {
    text.loras = JSON.stringify(m.loras.map(({ name, strength }) => ({ name, strength })));
    text.parameters += `, LoRAs: ${m.loras.map((l) => `${l.name}:${l.strength}`).join(', ')}`;
  }
  return text;
}

const LATIN1 = /^[\u0000-\u00ff]*$/;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as PNG uses it (ISO 3309, over chunk type and data). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** iTXt chunk: keyword \0, compression flag 0, method 0, empty language \0, empty translated keyword \0, UTF-8 text. */
function iTXtChunk(keyword: string, text: string): Uint8Array {
  const utf8 = new TextEncoder();
  const data = new Uint8Array([...utf8.encode(keyword), 0, 0, 0, 0, 0, ...utf8.encode(text)]);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set([0x69, 0x54, 0x58, 0x74], 4); // "iTXt"
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

/** Encodes width·height RGBA8 pixels as an RGB PNG carrying `m` in text chunks. */
export function encodePng(width: number, height: number, rgba: Uint8ClampedArray, m: PngMetadata): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = rgba[4 * i] as number;
    rgb[3 * i + 1] = rgba[4 * i + 1] as number;
    rgb[3 * i + 2] = rgba[4 * i + 2] as number;
  }
  const text = pngText(m);
  const latin1 = Object.fromEntries(Object.entries(text).filter(([, v]) => LATIN1.test(v)));
  const png = encode({ width, height, data: rgb, channels: 3, depth: 8, text: latin1 });
  const extra = Object.entries(text)
    .filter(([, v]) => !LATIN1.test(v))
    .map(([k, v]) => iTXtChunk(k, v));
  if (extra.length === 0) return png;
  // Insert before the 12-byte IEND chunk that ends every PNG.
  const iend = png.length - 12;
  const out = new Uint8Array(png.length + extra.reduce((n, c) => n + c.length, 0));
  out.set(png.subarray(0, iend));
  let at = iend;
  for (const c of extra) {
    out.set(c, at);
    at += c.length;
  }
  out.set(png.subarray(iend), at);
  return out;
}
