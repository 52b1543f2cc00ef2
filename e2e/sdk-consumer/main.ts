/**
 * A minimal app built on `kleinbild/sdk` as another web app would use it (no React): the engine API
 * (createGenerator) reports WebGPU, the Generate button runs the AI SDK's generateImage on the local
 * provider and shows the PNG, and "Start and cancel" aborts a createGenerator run at its first
 * progress report. The model comes from the page's `?model=` (a hub id or URL).
 * Driven by e2e/sdk.spec.ts; `#status` texts are what it waits for.
 */
import { generateImage } from 'ai';
import { createGenerator, kleinbild } from 'kleinbild/sdk';

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
};
const button = byId<HTMLButtonElement>('generate');
const cancelButton = byId<HTMLButtonElement>('cancel-test');
const cancelStatus = byId<HTMLParagraphElement>('cancel-status');
const prompt = byId<HTMLInputElement>('prompt');
const status = byId<HTMLParagraphElement>('status');
const capabilities = byId<HTMLParagraphElement>('capabilities');
const output = byId<HTMLImageElement>('output');

const model = new URLSearchParams(location.search).get('model');

async function checkWebGpu(source: string): Promise<void> {
  const generator = createGenerator({ model: source });
  try {
    const caps = await generator.capabilities();
    capabilities.textContent = caps.error === null ? `WebGPU ready: ${caps.adapter?.vendor || 'unknown vendor'}` : `No WebGPU: ${caps.error}`;
    button.disabled = cancelButton.disabled = caps.error !== null;
  } finally {
    generator.dispose();
  }
}

async function run(source: string): Promise<void> {
  button.disabled = true;
  status.textContent = 'Generating…';
  try {
    const started = performance.now();
    const { image, providerMetadata, warnings } = await generateImage({
      model: kleinbild.image('flux.2-klein-4b', { local: true, model: source, load: { precision: 'f32' } }),
      prompt: prompt.value,
      size: '64x64',
      seed: 1,
      providerOptions: { kleinbild: { steps: 1 } },
    });
    const blob = new Blob([new Uint8Array(image.uint8Array)], { type: image.mediaType });
    output.src = URL.createObjectURL(blob);
    await output.decode();
    output.hidden = false;
    const seed = (providerMetadata.kleinbild?.images as { seed?: number }[] | undefined)?.[0]?.seed;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    status.textContent = `Done: ${image.mediaType} ${output.naturalWidth}x${output.naturalHeight}, seed ${seed}, ${image.uint8Array.length} bytes, ${warnings.length} warnings, ${seconds} s`;
  } catch (e) {
    status.textContent = `Failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  } finally {
    button.disabled = false;
  }
}

/** Loads `source` in a Generator of its own, starts a 4-step run and aborts it at its first progress report. */
async function startAndCancel(source: string): Promise<void> {
  cancelButton.disabled = true;
  cancelStatus.textContent = 'Loading…';
  const generator = createGenerator({ model: source, load: { precision: 'f32' } });
  const abort = new AbortController();
  const stages: string[] = [];
  try {
    const info = await generator.load();
    cancelStatus.textContent = `Loaded ${info.summary}; generating…`;
    const onProgress = (p: { stage: string }) => {
      stages.push(p.stage);
      abort.abort();
    };
    await generator.generate({ prompt: prompt.value, width: 64, height: 64, steps: 4, seed: 1 }, { signal: abort.signal, onProgress });
    cancelStatus.textContent = `Not cancelled: it finished after ${stages.join(', ')}`;
  } catch (e) {
    cancelStatus.textContent = `${e instanceof Error ? e.name : 'Error'} after ${stages.length} progress report(s): ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    generator.dispose();
    cancelButton.disabled = false;
  }
}

if (model === null) {
  capabilities.textContent = 'Give the model in the query string: ?model=<hub id or URL>';
} else {
  button.addEventListener('click', () => void run(model));
  cancelButton.addEventListener('click', () => void startAndCancel(model));
  checkWebGpu(model).catch((e: unknown) => {
    capabilities.textContent = `Engine failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  });
}
