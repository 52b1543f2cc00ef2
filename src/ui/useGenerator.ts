/**
 * React hook around the engine worker (Comlink remote of GeneratorApi). Owns the worker's
 * lifetime and turns its promises and progress callbacks into render state. No GPU code here.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import * as Comlink from 'comlink';
import type { Capabilities, GenerateProgress, GenerateRequest, GenerateResult, GeneratorApi, LoadProgress, ModelInfo, ModelSource } from '../worker/api';

export type ModelState =
  | { kind: 'none' }
  | { kind: 'loading'; source: ModelSource; progress: LoadProgress | null }
  | { kind: 'ready'; info: ModelInfo };

export type RunState = { kind: 'idle' } | { kind: 'running'; progress: GenerateProgress | null } | { kind: 'cancelling' };

/** An error to show in the alert region: the engine's error `name` and its message. */
export interface UiError {
  name: string;
  message: string;
  /** What failed: 'load', 'generate' or 'worker'. */
  during: string;
}

export interface Generator {
  /** null while the worker is still probing WebGPU. */
  capabilities: Capabilities | null;
  model: ModelState;
  run: RunState;
  result: GenerateResult | null;
  error: UiError | null;
  /** A short non-error notice (e.g. "Cancelled."). */
  notice: string | null;
  load(source: ModelSource): void;
  generate(req: GenerateRequest): void;
  cancel(): void;
  dismissError(): void;
}

function toUiError(e: unknown, during: string): UiError {
  if (e instanceof Error) return { name: e.name, message: e.message, during };
  return { name: 'Error', message: String(e), during };
}

export function useGenerator(): Generator {
  const remote = useRef<Comlink.Remote<GeneratorApi> | null>(null);
  const [capabilities, setCapabilities] = useState<Capabilities | null>(null);
  const [model, setModel] = useState<ModelState>({ kind: 'none' });
  const [run, setRun] = useState<RunState>({ kind: 'idle' });
  const [result, setResult] = useState<GenerateResult | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'kleinbild-engine' });
    const api = Comlink.wrap<GeneratorApi>(worker);
    remote.current = api;
    let alive = true;
    worker.addEventListener('error', (ev) => {
      if (!alive) return;
      const message = ev.message || 'the engine worker failed to start (see the browser console)';
      setError({ name: 'WorkerError', message, during: 'worker' });
      setCapabilities((c) => c ?? { error: `The engine could not start: ${message}`, adapter: null });
    });
    api.capabilities().then(
      (caps) => alive && setCapabilities(caps),
      (e: unknown) => alive && setCapabilities({ error: toUiError(e, 'worker').message, adapter: null }),
    );
    return () => {
      alive = false;
      remote.current = null;
      api[Comlink.releaseProxy]();
      worker.terminate();
    };
  }, []);

  const load = useCallback((source: ModelSource) => {
    const api = remote.current;
    if (!api) return;
    setError(null);
    setNotice(null);
    setModel({ kind: 'loading', source, progress: null });
    const onProgress = (progress: LoadProgress) =>
      setModel((m) => (m.kind === 'loading' && m.source === source ? { ...m, progress } : m));
    api.load(source, Comlink.proxy(onProgress)).then(
      (info) => setModel({ kind: 'ready', info }),
      (e: unknown) => {
        setModel({ kind: 'none' });
        setError(toUiError(e, 'load'));
      },
    );
  }, []);

  const generate = useCallback((req: GenerateRequest) => {
    const api = remote.current;
    if (!api) return;
    setError(null);
    setNotice(null);
    setRun({ kind: 'running', progress: null });
    const onProgress = (progress: GenerateProgress) => setRun((r) => (r.kind === 'running' ? { kind: 'running', progress } : r));
    // The UI keeps its noise and reference pixels for the next run, so the worker gets (and may
    // keep) copies, transferred rather than cloned.
    const sent: GenerateRequest = { ...req };
    const buffers: ArrayBuffer[] = [];
    if (req.latents) {
      const latents = req.latents.slice();
      sent.latents = latents;
      buffers.push(latents.buffer);
    }
    if (req.references) {
      sent.references = req.references.map((r) => ({ width: r.width, height: r.height, rgba: r.rgba.slice() }));
      for (const r of sent.references) buffers.push(r.rgba.buffer as ArrayBuffer);
    }
    api.generate(Comlink.transfer(sent, buffers), Comlink.proxy(onProgress)).then(
      (res) => {
        setResult(res);
        setRun({ kind: 'idle' });
      },
      (e: unknown) => {
        setRun({ kind: 'idle' });
        const err = toUiError(e, 'generate');
        if (err.name === 'Cancelled') {
          setNotice('Cancelled.');
          return;
        }
        if (err.name === 'DeviceLost') setModel({ kind: 'none' });
        setError(err);
      },
    );
  }, []);

  const cancel = useCallback(() => {
    setRun((r) => (r.kind === 'running' ? { kind: 'cancelling' } : r));
    void remote.current?.cancel();
  }, []);

  const dismissError = useCallback(() => setError(null), []);

  return { capabilities, model, run, result, error, notice, load, generate, cancel, dismissError };
}
