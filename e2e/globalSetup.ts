/**
 * Makes (or reuses) the q4 pack of the golden model-a with `npm run pack` and writes the golden
 * model as GGUF files, then starts the hub-like model server for the whole run, serving the golden
 * folder, the pack as `/pack-a/…` and the GGUF files as `/gguf-a/…`; the returned function stops it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GGUF_A, GOLDEN_DIR, PACK_A, PACK_CACHE_DIR, REPO_DIR } from './env';
import { startHubServer } from './hubServer';

/** What a pack's bytes depend on: the converter's sources and the model's files. */
const PACK_INPUTS = ['src/weights/convert.ts', 'src/weights/quantRule.ts', 'src/util/quant.ts', 'src/weights/packFormat.ts', 'src/weights/safetensors.ts', 'src/util/dtype.ts', 'src/model/tensorList.ts', 'src/cli/pack.ts'];

async function packKey(modelDir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of PACK_INPUTS) h.update(f).update(await readFile(join(REPO_DIR, f)));
  for (const c of await readdir(modelDir, { recursive: true })) {
    const st = await stat(join(modelDir, c));
    if (st.isFile()) h.update(`${c}:${st.size}:${st.mtimeMs}`);
  }
  return h.update(JSON.stringify(PACK_A)).digest('hex').slice(0, 12);
}

/** The folder of PACK_A, converted on first use (≈ 15 s) and cached under PACK_CACHE_DIR. */
export async function ensurePack(): Promise<string> {
  const modelDir = join(GOLDEN_DIR, 'model-a');
  const dir = join(PACK_CACHE_DIR, `${PACK_A.name}-${await packKey(modelDir)}`);
  if (existsSync(join(dir, 'kleinbild-pack.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await mkdir(PACK_CACHE_DIR, { recursive: true });
  execFileSync(
    process.execPath,
    ['scripts/run.mjs', 'src/cli/pack.ts', '--from', modelDir, '--quant', PACK_A.quant, '--chunk-bytes', String(PACK_A.chunkBytes), '--out', tmp],
    { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir); // whole or absent: a killed run leaves only a .tmp folder
  return dir;
}

/** The golden model as GGUF files (e2e/ggufFixture.ts, ≈ 2 s), written afresh for every run. */
async function ensureGguf(): Promise<string> {
  const dir = join(PACK_CACHE_DIR, `${GGUF_A}-${process.pid}`);
  execFileSync(process.execPath, ['scripts/run.mjs', 'e2e/ggufFixture.ts', dir], { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const gguf = await ensureGguf();
  const hub = await startHubServer(GOLDEN_DIR, undefined, { [PACK_A.name]: await ensurePack(), [GGUF_A]: gguf });
  return async () => {
    await hub.close();
    await rm(gguf, { recursive: true, force: true });
  };
}
