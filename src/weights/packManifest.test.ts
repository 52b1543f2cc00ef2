/**
 * kleinbild-pack.json as a hostile input: every field a pack's maker wrote is checked before any
 * path is opened or byte range read (packManifest.ts), and a copy never trusts an empty hash.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInput, IntegrityFailure } from '../errors';
import { neededTensors } from '../model/tensorList';
import { memorySource } from '../testing/memorySource';
import { planPack, sha256Hex } from './convert';
import { folderSource } from './folderSource';
import { openCheckpoints } from './pack';
import { copyJob } from './packCopy';
import { PACK_MANIFEST, type PackManifest, storedBytes } from './packFormat';
import { validatePackManifest } from './packManifest';

const HEX = 'ab'.repeat(32);
const Q4 = storedBytes('q4', [64, 64]); // 2304
const F32 = storedBytes('f32', [64]); // 256
const BF16 = storedBytes('bf16', [8, 8]); // 128

/** A small valid manifest: three tensors at 0, 2304, 2560 (2688 weight bytes) in 2048-byte chunks. */
function good(): PackManifest {
  return {
    format: 'kleinbild-pack', version: 1, name: 'test', source: 'memory (q4)', quant: 'q4', chunkBytes: 2048, totalBytes: 2688,
    files: [{ path: 'vae/config.json', bytes: 100, sha256: HEX }, { path: 'tokenizer/tokenizer.json', bytes: 11_422_654, sha256: HEX }],
    chunks: [{ path: 'chunks/00000.bin', bytes: 2048, sha256: HEX }, { path: 'chunks/00001.bin', bytes: 640, sha256: HEX }],
    components: {
      text_encoder: { 'w.weight': { dtype: 'q4', shape: [64, 64], offset: 0, bytes: Q4, from: 'BF16', relRms: 0.08 } },
      transformer: { 'b.bias': { dtype: 'f32', shape: [64], offset: 2304, bytes: F32, from: 'F32' } },
      vae: { 'c.weight': { dtype: 'bf16', shape: [8, 8], offset: 2560, bytes: BF16, from: 'BF16' } },
    },
  };
}

type Mutation = (m: any) => void; // `any`: the mutations write what no type allows
const tensor = (m: any, c = 'text_encoder', n = 'w.weight') => m.components[c][n];

/** Bad manifests, what was changed, and the message (after `kleinbild-pack.json: `) that refuses it. */
const BAD: Array<[string, Mutation, RegExp]> = [
  // paths
  ['file path ../../x', (m) => (m.files[0].path = '../../x'), /^files\[0\]\.path: "\.\.\/\.\.\/x" has a "\.\." segment; a pack holds only/],
  ['file path /etc/passwd', (m) => (m.files[0].path = '/etc/passwd'), /^files\[0\]\.path: "\/etc\/passwd" is absolute/],
  ['file path C:/x', (m) => (m.files[0].path = 'C:/x'), /^files\[0\]\.path: "C:\/x" is absolute/],
  ['file path with a backslash', (m) => (m.files[0].path = 'vae\\config.json'), /^files\[0\]\.path: .* holds a backslash/],
  ['file path with NUL', (m) => (m.files[0].path = 'vae/config.json\u0000.png'), /^files\[0\]\.path: .* holds a control character/],
  ['file path vae/./config.json', (m) => (m.files[0].path = 'vae/./config.json'), /^files\[0\]\.path: .* has a "\." segment/],
  ['file not a pack file', (m) => (m.files[0].path = 'notes/readme.txt'), /^files\[0\]\.path: "notes\/readme\.txt"; a pack holds only text_encoder\/config\.json/],
  ['file listed twice', (m) => (m.files[1] = { ...m.files[0] }), /^files\[1\]\.path: "vae\/config\.json" is listed twice/],
  ['chunk path ../x', (m) => (m.chunks[0].path = '../chunks/00000.bin'), /^chunks\[0\]\.path: "\.\.\/chunks\/00000\.bin", expected "chunks\/00000\.bin"/],
  ['chunk path out of order', (m) => ([m.chunks[0].path, m.chunks[1].path] = [m.chunks[1].path, m.chunks[0].path]), /^chunks\[0\]\.path: "chunks\/00001\.bin", expected "chunks\/00000\.bin"/],
  ['chunk path unpadded', (m) => (m.chunks[1].path = 'chunks/1.bin'), /^chunks\[1\]\.path: "chunks\/1\.bin", expected "chunks\/00001\.bin"/],
  // hashes
  ['chunk sha256 empty', (m) => (m.chunks[0].sha256 = ''), /^chunks\[0\]\.sha256: "", expected a SHA-256: 64 lower-case hex digits/],
  ['chunk sha256 upper-case', (m) => (m.chunks[1].sha256 = HEX.toUpperCase()), /^chunks\[1\]\.sha256: "ABAB.*expected a SHA-256/],
  ['chunk sha256 63 digits', (m) => (m.chunks[1].sha256 = HEX.slice(1)), /^chunks\[1\]\.sha256: .*expected a SHA-256/],
  ['file sha256 missing', (m) => delete m.files[0].sha256, /^files\[0\]\.sha256: missing, expected a SHA-256/],
  // numbers
  ['chunkBytes 0', (m) => (m.chunkBytes = 0), /^chunkBytes: 0, expected a positive multiple of 256/],
  ['chunkBytes 1000', (m) => (m.chunkBytes = 1000), /^chunkBytes: 1000, expected a positive multiple of 256/],
  ['chunkBytes "2048"', (m) => (m.chunkBytes = '2048'), /^chunkBytes: "2048", expected a non-negative integer/],
  ['totalBytes -1', (m) => (m.totalBytes = -1), /^totalBytes: -1, expected a non-negative integer/],
  ['totalBytes 2^53', (m) => (m.totalBytes = 2 ** 53), /^totalBytes: 9007199254740992, expected a non-negative integer below 2\^53/],
  ['totalBytes 2688.5', (m) => (m.totalBytes = 2688.5), /^totalBytes: 2688\.5, expected a non-negative integer/],
  ['too few chunks', (m) => m.chunks.pop(), /^chunks: 1 chunks; totalBytes 2688 in chunks of 2048 bytes makes 2/],
  ['chunk bytes wrong', (m) => (m.chunks[1].bytes = 2048), /^chunks\[1\]\.bytes: 2048, the layout implies 640/],
  ['config file 2 MiB', (m) => (m.files[0].bytes = 2 * 1024 * 1024), /^files\[0\]\.bytes: 2097152; vae\/config\.json may hold at most 1048576 bytes/],
  ['tokenizer 65 MiB', (m) => (m.files[1].bytes = 65 * 1024 * 1024), /^files\[1\]\.bytes: 68157440; tokenizer\/tokenizer\.json may hold at most 67108864/],
  // tensors
  ['tensor offset -256', (m) => (tensor(m).offset = -256), /^components\.text_encoder\["w\.weight"\]\.offset: -256, expected a non-negative integer/],
  ['tensor offset 100 (unaligned)', (m) => (tensor(m).offset = 100), /^components\.text_encoder\["w\.weight"\]\.offset: 100 is not a multiple of 256/],
  ['tensor past the byte space', (m) => (tensor(m, 'vae', 'c.weight').offset = 2816), /^components\.vae\["c\.weight"\]\.offset: bytes \[2816, 2944\) lie outside the 2688 weight bytes/],
  ['tensor bytes too few for q4', (m) => (tensor(m).bytes = 2048), /^components\.text_encoder\["w\.weight"\]\.bytes: 2048; q4 \[64, 64\] is stored in 2304/],
  ['tensor bytes for another group', (m) => (tensor(m).group = 32), /^components\.text_encoder\["w\.weight"\]\.bytes: 2304; q4 G32 \[64, 64\] is stored in 2560/],
  ['tensor shape grown', (m) => (tensor(m, 'transformer', 'b.bias').shape = [1 << 20]), /^components\.transformer\["b\.bias"\]\.bytes: 256; f32 \[1048576\] is stored in 4194304/],
  ['tensor shape [0, 64]', (m) => (tensor(m).shape = [0, 64]), /^components\.text_encoder\["w\.weight"\]\.shape: \[0,64\], expected at most 8 positive integers/],
  ['tensor shape ["64"]', (m) => (tensor(m, 'transformer', 'b.bias').shape = ['64']), /\.shape: \["64"\], expected at most 8 positive integers/],
  ['tensor shape of 9 dims', (m) => (tensor(m, 'transformer', 'b.bias').shape = [1, 1, 1, 1, 1, 1, 1, 1, 64]), /\.shape: .*expected at most 8 positive integers/],
  ['tensor shape 2^60 elements', (m) => (tensor(m).shape = [2 ** 30, 2 ** 30]), /\.shape: .* has more than 2\^53 elements/],
  ['tensor dtype q5', (m) => (tensor(m).dtype = 'q5'), /^components\.text_encoder\["w\.weight"\]\.dtype: "q5"; this app reads q4, q8, q8m, bf16, f16, f32/],
  ['tensor group 12', (m) => (tensor(m).group = 12), /\.group: q4 with group 12; a group size belongs to q4\/q8\/q8m and is a positive multiple of 8/],
  ['group on a bf16 tensor', (m) => (tensor(m, 'vae', 'c.weight').group = 32), /^components\.vae\["c\.weight"\]\.group: bf16 with group 32/],
  ['tensor from missing', (m) => delete tensor(m).from, /\.from: missing, expected the source dtype's name/],
  ['tensor relRms -1', (m) => (tensor(m).relRms = -1), /\.relRms: -1, expected a number ≥ 0/],
  ['two tensors on the same bytes', (m) => (tensor(m, 'vae', 'c.weight').offset = 0), /^components\.(vae\["c\.weight"\]|text_encoder\["w\.weight"\])\.offset: bytes \[0, \d+\) overlap components\./],
  ['overlapping tensors', (m) => (tensor(m, 'transformer', 'b.bias').offset = 2048), /^components\.transformer\["b\.bias"\]\.offset: bytes \[2048, 2304\) overlap components\.text_encoder\["w\.weight"\] \[0, 2304\)/],
  // structure
  ['unknown component', (m) => (m.components.unet = {}), /^components\["unet"\]: not a component; a pack holds text_encoder, transformer, vae/],
  ['component missing', (m) => delete m.components.vae, /^components\.vae: missing, expected an object/],
  ['component an array', (m) => (m.components.transformer = []), /^components\.transformer: \[\], expected an object/],
  ['tensor a number', (m) => (m.components.vae['c.weight'] = 7), /^components\.vae\["c\.weight"\]: 7, expected an object/],
  ['chunks not an array', (m) => (m.chunks = {}), /^chunks: \{\}, expected an array/],
  ['files missing', (m) => delete m.files, /^files: missing, expected an array/],
  ['quant q3', (m) => (m.quant = 'q3'), /^quant: "q3", expected one of q4, q8, none/],
  ['name an object', (m) => (m.name = { html: '<b>' }), /^name: \{"html":"<b>"\}, expected a string/],
  ['format other', (m) => (m.format = 'other'), /^not a Kleinbild pack \(format "other"\)/],
  ['version 2', (m) => (m.version = 2), /^pack version 2; this app reads version 1/],
];

describe('validatePackManifest: kleinbild-pack.json as a hostile input', () => {
  it('accepts a valid manifest as it is', () => {
    const m = good();
    expect(validatePackManifest(m)).toBe(m);
  });

  it.each(BAD)('refuses %s, naming the file and the field', (_what, mutate, message) => {
    const m = structuredClone(good());
    mutate(m);
    let error: unknown;
    try {
      validatePackManifest(m, `memory/${PACK_MANIFEST}`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInput);
    const text = (error as Error).message;
    expect(text.startsWith(`memory/${PACK_MANIFEST}: `), text).toBe(true);
    expect(text.slice(`memory/${PACK_MANIFEST}: `.length)).toMatch(message);
  });

  it.each([null, [], 'kleinbild-pack', 42])('refuses %j: not a JSON object', (raw) => {
    expect(() => validatePackManifest(raw)).toThrow(/^kleinbild-pack\.json: not a Kleinbild pack/);
  });
});

/** A pack in memory with real hashes: its chunk bytes and config, and `edit` applied to its manifest. */
async function tinyPack(edit: Mutation = () => {}): Promise<Map<string, Uint8Array | object>> {
  const m = structuredClone(good()) as any;
  const c0 = new Uint8Array(2048).fill(1);
  const c1 = new Uint8Array(640).fill(2);
  const cfg = new TextEncoder().encode('{"_class_name":"AutoencoderKLFlux2"}');
  m.files = [{ path: 'vae/config.json', bytes: cfg.length, sha256: await sha256Hex(cfg) }];
  m.chunks[0].sha256 = await sha256Hex(c0);
  m.chunks[1].sha256 = await sha256Hex(c1);
  edit(m);
  return new Map<string, Uint8Array | object>([['vae/config.json', cfg], ['chunks/00000.bin', c0], ['chunks/00001.bin', c1], [PACK_MANIFEST, m]]);
}

describe('copying a pack never trusts its manifest', () => {
  it('a chunk with sha256 "" is refused: by the manifest check, and by the copy itself', async () => {
    const files = await tinyPack((m) => (m.chunks[1].sha256 = ''));
    files.set('chunks/00001.bin', new Uint8Array(640).fill(66)); // bytes the attacker chose
    const src = memorySource(files);
    await expect(planPack({ name: 'copy', quant: 'q4', base: 'pack' }, () => src, neededTensors)).rejects.toThrow(
      `memory/${PACK_MANIFEST}: chunks[1].sha256: "", expected a SHA-256: 64 lower-case hex digits`,
    );
    // copyJob handed such a manifest anyway: the empty hash matches nothing
    const job = copyJob(src, files.get(PACK_MANIFEST) as PackManifest);
    await expect(job.chunk(0)).resolves.toHaveLength(2048);
    await expect(job.chunk(1)).rejects.toThrow(IntegrityFailure);
    await expect(job.chunk(1)).rejects.toThrow(/chunks\/00001\.bin: SHA-256 [0-9a-f]{64} does not match the manifest's \(empty hash\)/);
  });

  it('the valid tiny pack copies (the refusals above are the manifest, not the fixture)', async () => {
    const src = memorySource(await tinyPack());
    const job = await planPack({ name: 'copy', quant: 'q4', base: 'pack' }, () => src, neededTensors);
    await expect(job.chunk(1)).resolves.toHaveLength(640);
    await expect(job.file('vae/config.json')).resolves.toBeInstanceOf(Uint8Array);
  });

  it('a pack folder whose manifest lists ../../x: refused before the folder source opens anything outside', async () => {
    const top = await mkdtemp(join(tmpdir(), 'kleinbild-hostile-'));
    const dir = join(top, 'a', 'pack');
    await mkdir(join(dir, 'chunks'), { recursive: true });
    await mkdir(join(dir, 'vae'));
    const secret = new TextEncoder().encode('{"secret": true}');
    await writeFile(join(top, 'x'), secret); // dir/../../x
    const files = await tinyPack((m) => m.files.push({ path: '../../x', bytes: secret.length, sha256: '' }));
    for (const [path, bytes] of files) await writeFile(join(dir, path), bytes instanceof Uint8Array ? bytes : JSON.stringify(bytes));
    const src = folderSource(dir);
    await expect(openCheckpoints(src)).rejects.toThrow(`${dir}/${PACK_MANIFEST}: files[1].path: "../../x" has a ".." segment`);
    // and the folder source itself reads nothing outside its folder, whatever asks
    await expect(src.range('../../x', 0, secret.length)).rejects.toThrow(`${dir}: path "../../x" has a ".." segment`);
    await expect(src.json('../../x')).rejects.toThrow(InvalidInput);
  });
});
