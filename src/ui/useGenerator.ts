/**
 * React hook around the engine worker (Comlink remote of GeneratorApi). Owns the worker's
 * lifetime and turns its promises and progress callbacks into render state. No GPU code here.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import * as Comlink from 'comlink';
import { saveLastModel } from './lastModel';
import { blurredResult, describeVerdict, type SafetyScreen, type SafetyVerdict } from './safety/screen';
import type { Capabilities, GeneratePreview, GenerateProgress, GenerateRequest, GenerateResult, GeneratorApi, LoadOptions, LoadProgress, ModelInfo, ModelSource } from '../worker/api';

export type ModelState =
  | { kind: 'none' }
  | { kind: 'loading'; source: ModelSource; progress: LoadProgress | null }
  | { kind: 'ready'; info: ModelInfo };

export type RunState = { kind: 'idle' } | { kind: 'running'; progress: GenerateProgress | null } | { kind: 'cancelling' };

export type JobStatus = 'pending' | 'running' | 'done' | 'cancelled' | 'failed';

/** One image in the queue. `model` is the source it was generated with (written into the PNG). */
export interface Job {
  id: number;
  req: GenerateRequest;
  model: ModelSource;
  status: JobStatus;
}

/** A finished image with the request and model that made it. */
export interface Output {
  id: number;
  req: GenerateRequest;
  model: ModelSource;
  result: GenerateResult;
  /** Set when the safety checker flagged it (action blur): `result` holds the blurred pixels, and the history skips it. */
  flagged?: SafetyVerdict;
  /** Set when the safety checker checked it and let it pass: the classifier and its scores (kept in the history). */
  checked?: { model: string; scores: Record<string, number> };
}

/** An error to show in the alert region: the engine's error `name` and its message. */
export interface UiError {
  name: string;
  message: string;
  /** What failed: 'load', 'generate' or 'worker'. */
  during: string;
}

export interface Generator {
  /** The engine worker's remote (for the storage panel's calls); null before it starts. */
  engine: { remote: Comlink.Remote<GeneratorApi> } | null;
  /** null while the worker is still probing WebGPU. */
  capabilities: Capabilities | null;
  model: ModelState;
  run: RunState;
  /** This session's queue, oldest first; finished entries stay with their status. */
  jobs: readonly Job[];
  /** Every finished image of this session, oldest first. */
  outputs: readonly Output[];
  /** The output shown in the image panel (the newest unless the user picked another). */
  shown: Output | null;
  error: UiError | null;
  /** A short non-error notice (e.g. "Cancelled."). */
  notice: string | null;
  /** The running image's latest live preview; null before its first step, once it ends, after Stop / Cancel. */
  preview: GeneratePreview | null;
  /** Loads `source` (options: low-memory mode); replaces the loaded model. */
  load(source: ModelSource, options?: LoadOptions): void;
  /** Appends one job per request to the queue; they run one after another. */
  enqueue(reqs: readonly GenerateRequest[]): void;
  /** Stops the running image and drops every pending one. */
  cancel(): void;
  /** Stops only the running image; the queue goes on with the next. */
  skip(): void;
  /** Drops a pending job. */
  remove(id: number): void;
  show(id: number): void;
  dismissError(): void;
  /** Drops the loaded model (so a stored one can be deleted); rejects while a generation runs. */
  unload(): Promise<void>;
}

function toUiError(e: unknown, during: string): UiError {
  if (e instanceof Error) return { name: e.name, message: e.message, during };
  return { name: 'Error', message: String(e), during };
}

/** Copies of the request's noise and reference pixels, transferred so the queue keeps its own. */
function forTransfer(req: GenerateRequest): GenerateRequest {
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
  return Comlink.transfer(sent, buffers);
}

/**
 * `screen`: the safety checker (null: off). With it, live previews are not shown, and every finished
 * image is classified before it is shown: flagged with action block, it is dropped with a notice;
 * with blur, it is shown blurred (Output.flagged). A failed check fails the image (error 'safety').
 */
export function useGenerator(screen: SafetyScreen | null = null): Generator {
  const screenRef = useRef(screen);
  screenRef.current = screen;
  const remote = useRef<Comlink.Remote<GeneratorApi> | null>(null);
  const [engine, setEngine] = useState<Generator['engine']>(null);
  const [capabilities, setCapabilities] = useState<Capabilities | null>(null);
  const [model, setModel] = useState<ModelState>({ kind: 'none' });
  const [run, setRun] = useState<RunState>({ kind: 'idle' });
  const [jobs, setJobs] = useState<readonly Job[]>([]);
  const [outputs, setOutputs] = useState<readonly Output[]>([]);
  const [shownId, setShownId] = useState<number | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [preview, setPreview] = useState<GeneratePreview | null>(null);
  /** The job whose previews are shown; null drops late frames (after Stop / Cancel). */
  const previewJob = useRef<number | null>(null);
  // The queue loop reads and writes jobs between awaits, so it works on a ref mirrored into state.
  const queue = useRef<Job[]>([]);
  const draining = useRef(false);
  const nextId = useRef(1);
  const modelRef = useRef<ModelState>(model);
  modelRef.current = model;

  const setQueue = useCallback((next: Job[]) => {
    queue.current = next;
    setJobs(next);
  }, []);
  const setStatus = useCallback(
    (id: number, status: JobStatus) => setQueue(queue.current.map((j) => (j.id === id ? { ...j, status } : j))),
    [setQueue],
  );
  useEffect(() => {
    const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'kleinbild-engine' });
    const api = Comlink.wrap<GeneratorApi>(worker);
    remote.current = api;
    setEngine({ remote: api });
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
      setEngine(null);
      api[Comlink.releaseProxy]();
      worker.terminate();
    };
  }, []);

  const load = useCallback((source: ModelSource, options: LoadOptions = {}) => {
    const api = remote.current;
    if (!api) return;
    setError(null);
    setNotice(null);
    setModel({ kind: 'loading', source, progress: null });
    const onProgress = (progress: LoadProgress) =>
      setModel((m) => (m.kind === 'loading' && m.source === source ? { ...m, progress } : m));
    api.load(source, Comlink.proxy(onProgress), options).then(
      (info) => {
        saveLastModel(source);
        setModel({ kind: 'ready', info });
      },
      (e: unknown) => {
        saveLastModel(null);
        setModel({ kind: 'none' });
        setError(toUiError(e, 'load'));
      },
    );
  }, []);

  const drain = useCallback(async () => {
    if (draining.current) return;
    draining.current = true;
    let cancelled = false;
    for (let job = queue.current.find((j) => j.status === 'pending'); job; job = queue.current.find((j) => j.status === 'pending')) {
      const api = remote.current;
      if (!api) break;
      const { id, req, model: source } = job;
      setStatus(id, 'running');
      setRun({ kind: 'running', progress: null });
      const onProgress = (progress: GenerateProgress) => setRun((r) => (r.kind === 'running' ? { kind: 'running', progress } : r));
      previewJob.current = id;
      const onPreview = (p: GeneratePreview) => {
        if (previewJob.current === id) setPreview(p);
      };
      const check = screenRef.current;
      let during = 'generate';
      try {
        // with the checker on, no unchecked pixels are shown: no live previews
        const result = await api.generate(forTransfer(req), Comlink.proxy(onProgress), check ? undefined : Comlink.proxy(onPreview));
        during = 'safety';
        const verdict = check ? await check(result) : null;
        setStatus(id, 'done');
        if (verdict?.flagged && verdict.action === 'block') {
          setNotice(`Image #${id} was blocked by the safety checker (${describeVerdict(verdict)}).`);
          continue;
        }
        if (verdict?.flagged) {
          setNotice(`Image #${id} was flagged by the safety checker (${describeVerdict(verdict)}): it is shown blurred and not saved to the history.`);
          setOutputs((o) => [...o, { id, req, model: source, result: blurredResult(result), flagged: verdict }]);
        } else setOutputs((o) => [...o, { id, req, model: source, result, ...(verdict ? { checked: { model: verdict.model, scores: verdict.scores } } : {}) }]);
        setShownId(id);
      } catch (e) {
        const err = toUiError(e, during);
        if (err.name === 'Cancelled') {
          setStatus(id, 'cancelled');
          cancelled = true;
          continue;
        }
        setStatus(id, 'failed');
        // A failed image stops the queue: the next ones would most likely fail the same way.
        setQueue(queue.current.map((j) => (j.status === 'pending' ? { ...j, status: 'cancelled' } : j)));
        if (err.name === 'DeviceLost') setModel({ kind: 'none' });
        setError(err);
      } finally {
        // the final image (set above in the same task) replaces the preview
        previewJob.current = null;
        setPreview(null);
      }
    }
    draining.current = false;
    setRun({ kind: 'idle' });
    if (cancelled) setNotice('Cancelled.');
  }, [setQueue, setStatus]);

  const enqueue = useCallback(
    (reqs: readonly GenerateRequest[]) => {
      const m = modelRef.current;
      if (m.kind !== 'ready' || reqs.length === 0) return;
      setError(null);
      setNotice(null);
      const added = reqs.map((req): Job => ({ id: nextId.current++, req, model: m.info.source, status: 'pending' }));
      setQueue([...queue.current, ...added]);
      void drain();
    },
    [drain, setQueue],
  );

  const skip = useCallback(() => {
    previewJob.current = null;
    setPreview(null);
    if (queue.current.some((j) => j.status === 'running')) void remote.current?.cancel();
  }, []);

  const cancel = useCallback(() => {
    setQueue(queue.current.map((j) => (j.status === 'pending' ? { ...j, status: 'cancelled' } : j)));
    setRun((r) => (r.kind === 'running' ? { kind: 'cancelling' } : r));
    skip();
  }, [setQueue, skip]);

  const remove = useCallback((id: number) => setQueue(queue.current.filter((j) => j.id !== id || j.status !== 'pending')), [setQueue]);

  const dismissError = useCallback(() => setError(null), []);
  const unload = useCallback(async () => {
    await remote.current?.unload();
    saveLastModel(null);
    setModel({ kind: 'none' });
  }, []);

  const shown = outputs.find((o) => o.id === shownId) ?? outputs.at(-1) ?? null;
  return { engine, capabilities, model, run, jobs, outputs, shown, error, notice, preview, load, enqueue, cancel, skip, remove, show: setShownId, dismissError, unload };
}
