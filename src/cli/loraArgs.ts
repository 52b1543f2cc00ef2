/**
 * `--lora FILE_OR_URL[:STRENGTH]` (repeatable) for the CLI: the argument split into source and
 * strength, and the file's bytes read from disk or fetched over http(s) — all before the model loads.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { LORA_STRENGTH_MAX } from '../pipeline/loras';

/** A --lora argument: where the file is, the strength (default 1). */
export interface LoraArg {
  source: string;
  strength: number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/**
 * `path/to/style.safetensors`, `style.safetensors:0.8`, `https://host:8080/x.safetensors:-1` → source and
 * strength: the text after the last `:` is the strength when it is a number (a URL's port is followed by
 * a path, so it never is). Errors: InvalidArgumentError for an empty source or a strength outside
 * ±LORA_STRENGTH_MAX.
 */
export function parseLoraArg(arg: string): LoraArg {
  const i = arg.lastIndexOf(':');
  const tail = i >= 0 ? arg.slice(i + 1) : '';
  const hasStrength = i >= 0 && NUMBER.test(tail);
  const source = hasStrength ? arg.slice(0, i) : arg;
  const strength = hasStrength ? Number(tail) : 1;
  if (source === '') throw new InvalidArgumentError(`--lora "${arg}": give a .safetensors file or URL, optionally followed by :STRENGTH`);
  if (Math.abs(strength) > LORA_STRENGTH_MAX) throw new InvalidArgumentError(`--lora "${arg}": strength ${strength} is outside -${LORA_STRENGTH_MAX}…${LORA_STRENGTH_MAX}`);
  return { source, strength };
}

/** The bytes of a LoRA file: fetched for an http(s) URL, else read from disk. Errors name the --lora source. */
export async function readLoraBytes(source: string, fetchImpl: typeof fetch = fetch): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetchImpl(source);
    } catch (e) {
      throw new InvalidArgumentError(`--lora ${source}: cannot be fetched (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!res.ok) throw new InvalidArgumentError(`--lora ${source}: the server answered ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  try {
    return new Uint8Array(await readFile(source));
  } catch (e) {
    throw new InvalidArgumentError(`--lora ${source}: cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
}
