/**
 * Writes the golden model-a as GGUF files (src/testing/goldenGguf.ts) into a folder, for the hub
 * server to serve in place of the recommended download's Q4_K_M files (journey.spec.ts).
 * Usage: node scripts/run.mjs e2e/ggufFixture.ts OUT_DIR
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { goldenGgufFiles } from '../src/testing/goldenGguf';

/** File names inside the fixture folder. */
export const GGUF_FIXTURE = { transformer: 'flux.gguf', textEncoder: 'qwen3.gguf' } as const;

export async function main(args: string[]): Promise<number> {
  const [out] = args;
  if (!out) {
    console.error('usage: node scripts/run.mjs e2e/ggufFixture.ts OUT_DIR');
    return 2;
  }
  const files = await goldenGgufFiles();
  await mkdir(out, { recursive: true });
  await writeFile(join(out, GGUF_FIXTURE.transformer), files.transformer);
  await writeFile(join(out, GGUF_FIXTURE.textEncoder), files.textEncoder);
  return 0;
}
