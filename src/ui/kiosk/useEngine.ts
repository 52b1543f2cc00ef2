/**
 * The kiosk's handle on the engine worker (the Comlink contract of ../../worker/api.ts): probes
 * WebGPU, loads the configured model once, and runs one request at a time for the kiosk queue.
 *
 * The kiosk does not use ../useGenerator.ts: that hook keeps every image of the session in memory
 * (the result strip), which a kiosk running all day cannot afford. Here an image lives only as
 * long as the kiosk screen or the history store needs it.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import * as Comlink from 'comlink';
import type { GenerateProgress, GenerateRequest, GenerateResult, GeneratorApi, LoadProgress, ModelSource } from '../../worker/api';
import { NO_STORED_MODEL, STORED_MODEL, pickStoredModel } from './config';

export type EngineState =
  | { kind: 'starting' }
  | { kind: 'loading'; progress: LoadProgress | null }
  | { kind: 'ready' }
  /** WebGPU is missing or the model failed to load: the kiosk is out of order until `retry`. */
  | { kind: 'failed'; message: string };

export interface Engine {
  state: EngineState;
  /** Runs one request; rejects with the engine's error (its `name`, e.g. 'DeviceLost', survives Comlink). */
  generate(req: GenerateRequest, onProgress: (p: GenerateProgress) => void): Promise<GenerateResult>;
  /** Loads the model again after a failure (or a lost device). */
  retry(): void;
}

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Starts the worker, probes WebGPU and loads `model` ("stored": the stored model pickStoredModel picks); the worker ends with the component. */
export function useEngine(model: ModelSource): Engine {
  const remote = useRef<Comlink.Remote<GeneratorApi> | null>(null);
  const [state, setState] = useState<EngineState>({ kind: 'starting' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const worker = new Worker(new URL('../../worker/worker.ts', import.meta.url), { type: 'module', name: 'kleinbild-engine' });
    const api = Comlink.wrap<GeneratorApi>(worker);
    remote.current = api;
    let alive = true;
    const fail = (text: string) => alive && setState({ kind: 'failed', message: text });
    worker.addEventListener('error', (ev) => fail(`The engine worker failed: ${ev.message || 'see the browser console'}`));
    return () => {
      alive = false;
      remote.current = null;
      api[Comlink.releaseProxy]();
      worker.terminate();
    };
  }, []);

  useEffect(() => {
    const api = remote.current;
    if (!api) return;
    let alive = true;
    void (async () => {
      try {
        const caps = await api.capabilities();
        if (caps.error !== null) throw new Error(`WebGPU is not available: ${caps.error}`);
        if (alive) setState({ kind: 'loading', progress: null });
        let source = model;
        if (model === STORED_MODEL) {
          const stored = pickStoredModel((await api.storage()).models);
          if (!stored) throw new Error(NO_STORED_MODEL);
          source = `store:${stored.id}`;
        }
        // progress calls may arrive after load resolved (Comlink delivers them asynchronously): only a
        // loading state takes them, or a late one would turn 'ready' back into 'loading'
        const onProgress = (progress: LoadProgress) => alive && setState((st) => (st.kind === 'loading' ? { kind: 'loading', progress } : st));
        await api.load(source, Comlink.proxy(onProgress));
        if (alive) setState({ kind: 'ready' });
      } catch (e) {
        console.error('Kiosk: the model could not be loaded', e);
        if (alive) setState({ kind: 'failed', message: message(e) });
      }
    })();
    return () => {
      alive = false;
    };
  }, [model, attempt]);

  const generate = useCallback(async (req: GenerateRequest, onProgress: (p: GenerateProgress) => void) => {
    const api = remote.current;
    if (!api) throw new Error('the engine worker has stopped');
    try {
      return await api.generate(req, Comlink.proxy(onProgress));
    } catch (e) {
      // The model's weights lived on the lost device: the kiosk is out of order until reloaded.
      if (e instanceof Error && e.name === 'DeviceLost') setState({ kind: 'failed', message: message(e) });
      throw e;
    }
  }, []);

  const retry = useCallback(() => {
    setState({ kind: 'starting' });
    setAttempt((a) => a + 1);
  }, []);

  return { state, generate, retry };
}
