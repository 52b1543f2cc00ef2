/** `npm run pack`: a folder with configs, tokenizer, chunks and the manifest, loadable by `--model DIR`. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { sha256Hex } from '../weights/convert';
import { folderSource } from '../weights/folderSource';
import { openCheckpoints } from '../weights/pack';
import { PACK_MANIFEST, type PackManifest } from '../weights/packFormat';
import { main, packReport } from './pack';

describe('npm run pack', () => {
  it('writes a q4 pack whose files match the manifest, with a quantization report', async () => {
    const out = await mkdtemp(join(tmpdir(), 'kleinbild-pack-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    let lines: string[];
    try {
      expect(await main(['--from', join(GOLDEN_DIR, 'model-a'), '--quant', 'q4', '--out', out, '--chunk-bytes', String(1 << 20)])).toBe(0);
      lines = log.mock.calls.map((c) => String(c[0]));
    } finally {
      log.mockRestore();
    }
    const m = JSON.parse(await readFile(join(out, PACK_MANIFEST), 'utf8')) as PackManifest;
    expect(m.quant).toBe('q4');
    expect(m.chunks.length).toBe(Math.ceil(m.totalBytes / (1 << 20)));
    for (const f of [...m.chunks, ...m.files]) {
      const bytes = new Uint8Array(await readFile(join(out, f.path)));
      expect(bytes.length, f.path).toBe(f.bytes);
      expect(await sha256Hex(bytes), f.path).toBe(f.sha256);
    }
    expect((await readdir(join(out, 'chunks'))).length).toBe(m.chunks.length);
    // report: per component sizes and the mean/max relative RMS error of the quantized weights
    // (q4 blocks; the embedders, modulations and final layer q8: weights/quantRule.ts)
    expect(lines.some((l) => /^transformer +\d+ tensors, [\d.]+ GB \((?=.*\bq4 [\d.]+ GB)(?=.*\bq8 [\d.]+ GB)/.test(l))).toBe(true);
    const rel = lines.map((l) => /relRms mean ([\d.e+-]+), max ([\d.e+-]+)/.exec(l)).filter((x) => x !== null);
    expect(rel.length).toBe(2); // text encoder and transformer
    for (const r of rel) expect(Number(r[2])).toBeLessThan(0.2); // q4 g64 on gaussian-like weights ≈ 0.09
    // the folder reads as a pack (what `npm run generate -- --model DIR` does)
    const ck = await openCheckpoints(folderSource(out));
    expect(ck.pack?.name).toContain('q4');
    expect(ck.transformer.info('transformer_blocks.0.attn.to_q.weight').dtype).toBe('Q4');
    expect(ck.transformer.info('proj_out.weight').dtype).toBe('Q8');
    expect((await stat(join(out, 'tokenizer/tokenizer.json'))).size).toBeGreaterThan(1000);
  });

  it('report: lossless GGUF repacks counted by source type, apart from the relRms of re-quantized tensors', () => {
    const t = (from: string, dtype: 'q4' | 'q8', relRms: number, group?: number) => ({ dtype, shape: [64, 64], offset: 0, bytes: 2560, from, relRms, ...(group && { group }) });
    const m = {
      chunks: [{ path: 'chunks/00000.bin', bytes: 1 << 20, sha256: '' }], chunkBytes: 1 << 20, totalBytes: 1 << 20,
      components: {
        text_encoder: {},
        transformer: { a: t('Q8_0', 'q8', 0, 32), b: t('Q8_0', 'q8', 0, 32), c: t('Q4_1', 'q4', 0, 32), d: t('Q4_K', 'q4', 0.061), e: t('Q6_K', 'q4', 0.083) },
        vae: {},
      },
    } as unknown as PackManifest;
    const lines = packReport(m, true);
    expect(lines).toContain(`${''.padEnd(13)} 3 tensors copied losslessly (Q8_0 → q8 G32: 2, Q4_1 → q4 G32: 1)`);
    expect(lines).toContain(`${''.padEnd(13)} relRms mean 7.20e-2, max 8.30e-2 (e)`);
    expect(lines).toContain('  a Q8_0 → q8 G32 [64, 64] 2560 B copied losslessly');
    expect(lines).toContain('  d Q4_K → q4 [64, 64] 2560 B relRms 6.10e-2');
  });

  it('a copied pack whose manifest lists ../../x writes nothing outside --out (nor reads outside --from)', async () => {
    const top = await mkdtemp(join(tmpdir(), 'kleinbild-hostile-'));
    const from = join(top, 'a', 'b', 'pack');
    const out = join(top, 'c', 'd', 'out');
    const payload = new TextEncoder().encode('{"pwned": true}');
    await writeFile(join(top, 'x'), 'placeholder'); // nothing may touch it
    await mkdir(join(from, 'chunks'), { recursive: true });
    await writeFile(join(top, 'a', 'x'), payload); // from/../../x: what a lax source would read
    const chunk = new Uint8Array(256);
    const sha = await sha256Hex(payload);
    const manifest = {
      format: 'kleinbild-pack', version: 1, name: 'hostile', source: 'x', quant: 'none', chunkBytes: 256, totalBytes: 256,
      files: [{ path: '../../x', bytes: payload.length, sha256: sha }], // a valid hash of the attacker's bytes
      chunks: [{ path: 'chunks/00000.bin', bytes: 256, sha256: await sha256Hex(chunk) }],
      components: { text_encoder: {}, transformer: { b: { dtype: 'f32', shape: [64], offset: 0, bytes: 256, from: 'F32' } }, vae: {} },
    };
    await writeFile(join(from, 'chunks', '00000.bin'), chunk);
    await writeFile(join(from, PACK_MANIFEST), JSON.stringify(manifest));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await expect(main(['--from', from, '--out', out])).rejects.toThrow(`${from}/${PACK_MANIFEST}: files[0].path: "../../x" has a ".." segment`);
    } finally {
      log.mockRestore();
    }
    expect(existsSync(join(top, 'c', 'x'))).toBe(false); // out/../../x
    expect(await readFile(join(top, 'x'), 'utf8')).toBe('placeholder');
    expect(existsSync(join(out, PACK_MANIFEST))).toBe(false);
  });

  it('refuses an unknown --quant', async () => {
    await expect(main(['--from', join(GOLDEN_DIR, 'model-a'), '--quant', 'q3', '--out', '/tmp/never'])).rejects.toThrow(/--quant q3: use q4, q8 or none/);
  });
});
