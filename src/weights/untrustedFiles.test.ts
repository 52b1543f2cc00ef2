/**
 * Model files as hostile inputs, source by source: paths that leave the model (folder, picked
 * folder, HTTP), JSON files of any claimed size, a safetensors header claiming 512 GiB, a GGUF cut
 * short. Each is refused before the bytes it claims are requested or allocated.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../errors';
import type { FileSource } from './source';
import { checkModelPath, jsonLimit, modelPathError } from './source';
import { folderSource, pathInFolder } from './folderSource';
import { localFileSource } from './fileListSource';
import { HttpSource } from './httpSource';
import { MAX_HEADER_BYTES, openComponent, parseSafetensorsHeader } from './safetensors';
import { openFp8Tensors } from './fp8';
import { readGgufHeader } from './gguf';
import { encodeGguf } from './ggufWrite';
import { memorySource } from '../testing/memorySource';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Paths a manifest, an index or a picked folder could name, none of which may be opened. */
const BAD_PATHS: Array<[string, RegExp]> = [
  ['../x', /has a "\.\." segment/],
  ['../../etc/passwd', /has a "\.\." segment/],
  ['a/../../x', /has a "\.\." segment/],
  ['/etc/passwd', /is absolute/],
  ['C:/Windows/win.ini', /is absolute/],
  ['..\\x', /holds a backslash/],
  ['a\\b.json', /holds a backslash/],
  ['a/b.json\u0000.png', /holds a control character/],
  ['a//b.json', /has a "" segment/],
  ['./a.json', /has a "\." segment/],
  ['', /is empty/],
];

describe('model paths stay inside the model', () => {
  it.each(BAD_PATHS)('modelPathError(%j)', (path, why) => {
    expect(modelPathError(path)).toMatch(why);
    expect(() => checkModelPath(path, 'src')).toThrow(InvalidInput);
  });

  it('plain relative paths pass', () => {
    for (const p of ['kleinbild-pack.json', 'chunks/00000.bin', 'text_encoder/model-00001-of-00002.safetensors', 'a b/c..d.gguf', 'x.gguf']) expect(modelPathError(p), p).toBeNull();
  });

  it('folder source: every method refuses them, and pathInFolder keeps the pack writer inside --out', async () => {
    const top = await mkdtemp(join(tmpdir(), 'kleinbild-paths-'));
    const dir = join(top, 'model');
    await mkdir(dir);
    await writeFile(join(top, 'secret.json'), '{"secret":1}');
    const src = folderSource(dir);
    for (const [path, why] of BAD_PATHS) {
      await expect(src.range(path, 0, 1), path).rejects.toThrow(why);
      await expect(src.size(path), path).rejects.toThrow(why);
      await expect(src.json(path), path).rejects.toThrow(why);
      await expect(src.exists(path), path).rejects.toThrow(why);
      expect(() => pathInFolder(dir, path), path).toThrow(why);
    }
    expect(pathInFolder(dir, 'chunks/00000.bin')).toBe(join(dir, 'chunks', '00000.bin'));
  });

  it("a sharded checkpoint's index naming ../ shards: refused by the folder source, nothing outside read", async () => {
    const top = await mkdtemp(join(tmpdir(), 'kleinbild-index-'));
    const dir = join(top, 'model');
    await mkdir(join(dir, 'text_encoder'), { recursive: true });
    await writeFile(join(top, 'x.safetensors'), new Uint8Array(16)); // model/text_encoder/../../x.safetensors
    await writeFile(join(dir, 'text_encoder', 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': '../../x.safetensors' } }));
    await expect(openComponent(folderSource(dir), 'text_encoder')).rejects.toThrow(`${dir}: path "text_encoder/../../x.safetensors" has a ".." segment`);
  });

  it('picked-folder source: refuses them even when the picked files hold such a key', async () => {
    const files = new Map<string, Blob>([['../x', new Blob(['{}'])], ['a.json', new Blob(['{}'])]]);
    const src = localFileSource('local:m', { name: 'm', kind: 'pack', files });
    await expect(src.json('../x')).rejects.toThrow('local:m: path "../x" has a ".." segment');
    await expect(src.exists('../x')).rejects.toThrow(InvalidInput);
    await expect(src.range('/a.json', 0, 1)).rejects.toThrow(/is absolute/);
    await expect(src.json('a.json')).resolves.toEqual({});
  });

  it('HTTP source: no request leaves the base URL (../ would reach another repo of the hub)', async () => {
    const urls: string[] = [];
    const fetch = (async (url: string) => {
      urls.push(url);
      return new Response('{}', { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const src = new HttpSource('owner/model', 'https://hub.invalid/owner/model/resolve/main', { fetch, retry: { attempts: 1 } });
    for (const [path, why] of BAD_PATHS) {
      await expect(src.range(path, 0, 1), path).rejects.toThrow(why);
      await expect(src.size(path), path).rejects.toThrow(why);
      await expect(src.json(path), path).rejects.toThrow(why);
      await expect(src.exists(path), path).rejects.toThrow(why);
    }
    expect(urls).toEqual([]);
    await expect(src.json('a/b.json')).resolves.toEqual({});
    expect(urls).toEqual(['https://hub.invalid/owner/model/resolve/main/a/b.json']);
  });
});

describe('JSON files are read only up to a size bound, checked on the size first', () => {
  it('limits: tokenizer.json 64 MiB (Qwen3: 11.4 MB), configs 1 MiB, the rest 16 MiB', () => {
    expect(jsonLimit('tokenizer/tokenizer.json')).toBe(64 * MiB);
    expect(jsonLimit('vae/config.json')).toBe(MiB);
    expect(jsonLimit('model_index.json')).toBe(MiB);
    expect(jsonLimit('kleinbild-pack.json')).toBe(16 * MiB);
    expect(jsonLimit('text_encoder/model.safetensors.index.json')).toBe(16 * MiB);
  });

  it('folder source: a 1 MiB + 1 config.json is refused by its size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kleinbild-json-'));
    await mkdir(join(dir, 'vae'));
    await writeFile(join(dir, 'vae', 'config.json'), `{"pad":"${'x'.repeat(MiB)}"}`);
    await expect(folderSource(dir).json('vae/config.json')).rejects.toThrow(/vae\/config\.json is 1048586 bytes; a JSON file of a model may hold at most 1048576 \(1 MiB\)/);
  });

  it('picked-folder source: a file claiming 70 MiB is refused without reading it', async () => {
    let sliced = 0;
    const huge = { size: 70 * MiB, slice: () => ((sliced++, new Blob(['{}']))) } as unknown as Blob;
    const src = localFileSource('local:m', { name: 'm', kind: 'pack', files: new Map([['tokenizer/tokenizer.json', huge]]) });
    await expect(src.json('tokenizer/tokenizer.json')).rejects.toThrow(/tokenizer\/tokenizer\.json is 73400320 bytes; a JSON file of a model may hold at most 67108864/);
    expect(sliced).toBe(0);
  });

  it('HTTP source: a large Content-Length is refused before the body, a body without one when it passes the limit', async () => {
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulled += MiB;
          c.enqueue(new Uint8Array(MiB).fill(0x20));
        },
      });
    const fetch = (async (url: string) => {
      if (url.endsWith('declared/config.json')) return new Response(endless(), { status: 200, headers: { 'Content-Length': String(5 * GiB) } });
      return new Response(endless(), { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const src = new HttpSource('u', 'https://x.invalid', { fetch, retry: { attempts: 1 } });
    await expect(src.json('declared/config.json')).rejects.toThrow(/declared\/config\.json is 5368709120 bytes; a JSON file of a model may hold at most 1048576/);
    expect(pulled).toBeLessThanOrEqual(2 * MiB); // the stream's first pulls at most, none read
    pulled = 0;
    await expect(src.json('chunked/config.json')).rejects.toThrow(/chunked\/config\.json is over 2097152 bytes; a JSON file of a model may hold at most 1048576/);
    expect(pulled).toBeLessThanOrEqual(4 * MiB);
  });
});

/** The first 8 bytes of a safetensors file whose header claims `n` bytes. */
function claimHeader(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

describe('safetensors: a header length over 100 MB is refused before it is requested', () => {
  const CLAIM = 512 * GiB;

  it('a source claiming a 600 GiB file whose header is 512 GiB: one 64 KiB probe, then refused', async () => {
    const ranges: Array<[number, number]> = [];
    const src: FileSource = {
      id: 'remote',
      size: async () => 600 * GiB,
      range: async (_p, a, b) => {
        ranges.push([a, b]);
        if (b - a > 64 * 1024) throw new Error(`asked for ${b - a} bytes`);
        const out = new Uint8Array(b - a);
        out.set(claimHeader(CLAIM).subarray(0, Math.max(0, Math.min(8, b) - a)));
        return out;
      },
      json: async () => ({}) as never,
      exists: async (p) => p === 'vae/diffusion_pytorch_model.safetensors',
    };
    await expect(openComponent(src, 'vae')).rejects.toThrow(
      `remote/vae/diffusion_pytorch_model.safetensors: header length ${CLAIM} bytes; safetensors headers are at most ${MAX_HEADER_BYTES}`,
    );
    expect(ranges).toEqual([[0, 64 * 1024]]);
    // the fp8 transformer reader shares the header reader
    ranges.length = 0;
    await expect(openFp8Tensors(src, 'vae/diffusion_pytorch_model.safetensors')).rejects.toThrow(/header length 549755813888 bytes/);
    expect(ranges).toEqual([[0, 64 * 1024]]);
  });

  it('over HTTP: a 150 MB header of a 200 MB file is refused after the probe, with no second range request', async () => {
    const requests: string[] = [];
    const fetch = (async (_url: string, init?: RequestInit) => {
      const range = new Headers(init?.headers).get('Range');
      requests.push(`${init?.method ?? 'GET'} ${range ?? ''}`.trim());
      if (init?.method === 'HEAD') return new Response(null, { status: 200, headers: { 'Content-Length': String(200_000_000) } });
      const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
      const [a, b] = [Number(m?.[1]), Number(m?.[2]) + 1];
      if (b - a > 64 * 1024) return new Response(null, { status: 416 });
      const body = new Uint8Array(b - a);
      body.set(claimHeader(150_000_000).subarray(a, Math.min(8, b)));
      return new Response(body, { status: 206, headers: { 'Content-Range': `bytes ${a}-${b - 1}/200000000` } });
    }) as unknown as typeof globalThis.fetch;
    const src = new HttpSource('u', 'https://x.invalid', { fetch, retry: { attempts: 1 } });
    await expect(openComponent(src, 'transformer')).rejects.toThrow(/header length 150000000 bytes; safetensors headers are at most 100000000/);
    expect(requests.filter((r) => r.startsWith('GET'))).toEqual(['GET bytes=0-65535']);
  });

  it('in memory too (noise files, goldens): parseSafetensorsHeader refuses before slicing', () => {
    const bytes = new Uint8Array(16);
    bytes.set(claimHeader(MAX_HEADER_BYTES + 1));
    expect(() => parseSafetensorsHeader(bytes, 'noise.safetensors', 2 * MAX_HEADER_BYTES)).toThrow(`noise.safetensors: header length ${MAX_HEADER_BYTES + 1} bytes`);
  });
});

describe('GGUF: reads past the end of the file are errors', () => {
  const file = encodeGguf({ 'general.architecture': 'flux', 'general.name': 'a model with a name long enough' }, [
    { name: 'double_blocks.0.img_attn.qkv.weight', type: 'F32', shape: [4, 8], data: new Float32Array(32) },
    { name: 'final_layer.linear.weight', type: 'F32', shape: [2, 8], data: new Float32Array(16) },
  ]);
  /** Inside the last tensor info: 5 bytes into its dims, after its 25-character name. */
  const inLastInfo = Buffer.from(file).indexOf('final_layer.linear.weight') + 25 + 4 + 5;

  it('the whole file parses', async () => {
    const h = await readGgufHeader(memorySource({ 'f.gguf': file }), 'f.gguf');
    expect(h.tensors.map((t) => t.name)).toEqual(['double_blocks.0.img_attn.qkv.weight', 'final_layer.linear.weight']);
  });

  it.each([
    ['in a metadata key', 40],
    ['in a metadata value', 120],
    ['in the last tensor info', inLastInfo],
  ])('cut %s (%i bytes kept): refused with the file and the offset, not zero-filled names', async (_where, keep) => {
    const src = memorySource({ 'cut.gguf': file.slice(0, keep) });
    await expect(readGgufHeader(src, 'cut.gguf')).rejects.toThrow(InvalidInput);
    await expect(readGgufHeader(src, 'cut.gguf')).rejects.toThrow(new RegExp(`^memory/cut\\.gguf: (file cut short: its GGUF header runs to byte \\d+, but the file ends at byte ${keep} \\(read past the end at offset ${keep}\\)|not a readable GGUF file)`));
  });

  it('cut inside the tensor infos: the parse that used to succeed with empty names now fails by offset', async () => {
    const keep = inLastInfo;
    await expect(readGgufHeader(memorySource({ 'cut.gguf': file.slice(0, keep) }), 'cut.gguf')).rejects.toThrow(
      new RegExp(`cut\\.gguf: file cut short: its GGUF header runs to byte \\d+, but the file ends at byte ${keep} \\(read past the end at offset ${keep}\\)`),
    );
  });
});
