import { describe, expect, it } from 'vitest';
import { goldenModelSource } from '../testing/golden';
import { bf16ToF32 } from '../util/dtype';
import { dtypeOf, openComponent, parseSafetensors, parseSafetensorsHeader, type TensorInfo } from './safetensors';
import { encodeSafetensors } from './safetensorsWrite';
import type { FileSource } from './source';

const u16 = (b: Uint8Array): Uint16Array => new Uint16Array(b.slice().buffer);

describe('openComponent on golden model-a', () => {
  const src = goldenModelSource();

  it('transformer: 49 BF16 tensors, to_q [128, 128] with known first values', async () => {
    const ckpt = await openComponent(src, 'transformer');
    expect(ckpt.tensors.size).toBe(49);
    const q = ckpt.info('transformer_blocks.0.attn.to_q.weight');
    expect(q).toMatchObject({ dtype: 'BF16', shape: [128, 128], file: 'transformer/diffusion_pytorch_model.safetensors' });
    // header 5464 bytes → data at 5472; data_offsets [1786880, 1819648] from the Python header dump
    expect([q.start, q.end]).toEqual([5472 + 1786880, 5472 + 1819648]);
    expect(dtypeOf(q)).toBe('bf16');
    const bytes = await ckpt.read(q.name);
    expect(bytes.length).toBe(128 * 128 * 2);
    // bf16 bits 0xbe01 0x3d74 0x3cc1 0x3e51 (python struct dump of the same bytes)
    expect([...bf16ToF32(u16(bytes)).subarray(0, 4)]).toEqual([-0.1259765625, 0.0595703125, 0.0235595703125, 0.2041015625]);
    expect(ckpt.totalBytes).toBe(3332960 - 8 - 5464);
  });

  it('readRange: bytes of one tensor relative to its first byte, bounds checked', async () => {
    const ckpt = await openComponent(src, 'transformer');
    const name = 'transformer_blocks.0.attn.to_q.weight';
    const whole = await ckpt.read(name);
    expect(await ckpt.readRange(name, 256, 512)).toEqual(whole.subarray(256, 512)); // row 1 of [128, 128] bf16
    expect((await ckpt.readRange(name, 0, 0)).length).toBe(0);
    await expect(ckpt.readRange(name, 0, whole.length + 1)).rejects.toThrow(`bytes [0, ${whole.length + 1}) outside tensor ${name} (${whole.length} bytes)`);
    await expect(ckpt.readRange(name, 10, 5)).rejects.toThrow(/outside tensor/);
  });

  it('text_encoder: 310 tensors, embed_tokens [151936, 64], no lm_head', async () => {
    const ckpt = await openComponent(src, 'text_encoder');
    expect(ckpt.tensors.size).toBe(310);
    expect(ckpt.info('model.embed_tokens.weight')).toMatchObject({ dtype: 'BF16', shape: [151936, 64] });
    expect(ckpt.tensors.has('lm_head.weight')).toBe(false);
    expect(() => ckpt.info('lm_head.weight')).toThrow('weight lm_head.weight: expected present, got missing');
    await expect(ckpt.read('lm_head.weight')).rejects.toThrow(/lm_head.weight/);
  });

  it('vae: 183 tensors incl. the I64 0-d bn.num_batches_tracked', async () => {
    const ckpt = await openComponent(src, 'vae');
    expect(ckpt.tensors.size).toBe(183);
    const nbt = ckpt.info('bn.num_batches_tracked');
    expect(nbt).toMatchObject({ dtype: 'I64', shape: [] });
    expect(nbt.end - nbt.start).toBe(8);
    expect(new BigInt64Array((await ckpt.read(nbt.name)).slice().buffer)[0]).toBe(0n);
    expect(() => dtypeOf(nbt)).toThrow(/bn.num_batches_tracked.*I64/);
    expect(ckpt.info('bn.running_mean').shape).toEqual([128]);
  });

  it('reports a folder without a checkpoint', async () => {
    await expect(openComponent(src, 'scheduler')).rejects.toThrow(/scheduler.*model\.safetensors\.index\.json/);
  });
});

/** In-memory FileSource over named buffers (for sharded and corrupt fixtures). */
function memorySource(files: Record<string, Uint8Array | object>): FileSource {
  const get = (p: string): Uint8Array | object => {
    const f = files[p];
    if (f === undefined) throw new Error(`file not found in model mem: ${p}`);
    return f;
  };
  return {
    id: 'mem',
    size: async (p) => (get(p) as Uint8Array).length,
    range: async (p, s, e) => (get(p) as Uint8Array).slice(s, e),
    json: async <T>(p: string) => get(p) as T,
    exists: async (p) => p in files,
  };
}

const f32 = (...v: number[]) => ({ dtype: 'F32' as const, shape: [v.length], data: new Float32Array(v) });

describe('encodeSafetensors / parseSafetensors', () => {
  it('round-trips F32, BF16, F16, I64 (0-d) and pads the header to 8 bytes with spaces', () => {
    const file = encodeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) },
        b: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) },
        c: { dtype: 'F16', shape: [1, 1], data: new Uint16Array([0x3c00]) },
        n: { dtype: 'I64', shape: [], data: new BigInt64Array([-7n]) },
      },
      { format: 'pt' },
    );
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(file[8 + n - 1]).toBe(0x20);
    expect(file.length).toBe(8 + n + 24 + 4 + 2 + 8);
    const m = parseSafetensors(file);
    expect([...m.keys()]).toEqual(['a', 'b', 'c', 'n']);
    const a = m.get('a');
    expect(a?.info).toMatchObject({ dtype: 'F32', shape: [2, 3], start: 8 + n, end: 8 + n + 24 });
    expect([...new Float32Array((a?.bytes as Uint8Array).slice().buffer)]).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect([...bf16ToF32(u16(m.get('b')?.bytes as Uint8Array))]).toEqual([1, -2]);
    expect(m.get('n')?.info.shape).toEqual([]);
    expect(new BigInt64Array((m.get('n')?.bytes as Uint8Array).slice().buffer)[0]).toBe(-7n);
  });

  it('rejects data that does not match the dtype or shape', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'BF16', shape: [1], data: new Float32Array(1) } })).toThrow(/x is BF16.*Float32Array/);
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/\[2, 2\] but 3/);
  });
});

describe('corrupt headers', () => {
  /** A valid file whose JSON header is replaced by `header` (same length rules). */
  const withHeader = (header: object, dataBytes = 16): Uint8Array => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };

  it('header length beyond the file', () => {
    const file = encodeSafetensors({ x: f32(1) });
    new DataView(file.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => parseSafetensorsHeader(file, 'bad.safetensors')).toThrow(`bad.safetensors: header length ${2 ** 40} beyond file size ${file.length}`);
  });

  it('too short, bad JSON, unknown dtype, bad offsets', () => {
    expect(() => parseSafetensorsHeader(new Uint8Array(5))).toThrow(/5 bytes, too short/);
    const bad = withHeader({});
    bad[8] = 0x7b + 1; // '{' → '|'
    expect(() => parseSafetensorsHeader(bad, 'j')).toThrow(/j: header is not valid JSON/);
    expect(() => parseSafetensorsHeader(withHeader({ x: { dtype: 'Q4', shape: [2], data_offsets: [0, 2] } }))).toThrow(/tensor x has unknown dtype Q4/);
    // 4 F32 values need 16 bytes; offsets promise 20
    expect(() => parseSafetensorsHeader(withHeader({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 20] } }))).toThrow(
      /tensor x F32 \[4\] has data_offsets \[0, 20\] \(16 bytes expected, data section 16 bytes\)/,
    );
    // right size but past the end of the data section
    expect(() => parseSafetensorsHeader(withHeader({ x: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }))).toThrow(/data_offsets \[8, 24\]/);
    expect(() => parseSafetensorsHeader(withHeader({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }))).toThrow(/invalid shape/);
  });
});

describe('sharded checkpoints (index.json + weight_map)', () => {
  const shard1 = encodeSafetensors({ 'model.a': f32(1, 2), 'model.b': f32(3) });
  const shard2 = encodeSafetensors({ 'model.c': f32(4, 5, 6) });
  const index = {
    metadata: { total_size: 24 },
    weight_map: {
      'model.a': 'model-00001-of-00002.safetensors',
      'model.b': 'model-00001-of-00002.safetensors',
      'model.c': 'model-00002-of-00002.safetensors',
    },
  };

  it('merges the shards and reads each tensor from its own file', async () => {
    const src = memorySource({
      'text_encoder/model.safetensors.index.json': index,
      'text_encoder/model-00001-of-00002.safetensors': shard1,
      'text_encoder/model-00002-of-00002.safetensors': shard2,
      // a stray single file must lose against the index
      'text_encoder/model.safetensors': encodeSafetensors({ stray: f32(0) }),
    });
    const ckpt = await openComponent(src, 'text_encoder');
    expect([...ckpt.tensors.keys()].sort()).toEqual(['model.a', 'model.b', 'model.c']);
    const c: TensorInfo = ckpt.info('model.c');
    expect(c.file).toBe('text_encoder/model-00002-of-00002.safetensors');
    expect([...new Float32Array((await ckpt.read('model.c')).slice().buffer)]).toEqual([4, 5, 6]);
    expect(ckpt.totalBytes).toBe(24);
  });

  it('a weight_map entry absent from its shard is a WeightMismatch', async () => {
    const src = memorySource({
      'vae/diffusion_pytorch_model.safetensors.index.json': { weight_map: { ...index.weight_map, 'model.d': 'model-00002-of-00002.safetensors' } },
      'vae/model-00001-of-00002.safetensors': shard1,
      'vae/model-00002-of-00002.safetensors': shard2,
    });
    await expect(openComponent(src, 'vae')).rejects.toThrow('weight model.d: expected present in vae/model-00002-of-00002.safetensors');
  });
});
