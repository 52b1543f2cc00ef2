/**
 * The LoRA panel's state: the LoRAs stored in this browser (src/store/loras.ts) with their switch and
 * strength, and which of them the engine holds for the loaded model. Adding (a file, a URL, a hub
 * file) first hands the bytes to the engine (GeneratorApi.addLora checks them against the loaded
 * model) and stores them only when it accepts them, so a refused file leaves everything as it was.
 * Every model load replaces the engine's pipeline and its LoRAs: after each one the enabled LoRAs
 * are read from the store and added again. Requests get the enabled ones (strength ≠ 0) in `apply`.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type * as Comlink from 'comlink';
import { clampStrength, deleteLora, listLoras, loraBytes, type LoraRecord, onLorasChange, putLora, selectLoras, updateLora } from '../store/loras';
import { publicSource } from '../util/publicSource';
import type { GenerateRequest, GeneratorApi, LoraUse, ModelInfo } from '../worker/api';
import type { ModelState } from './useGenerator';

/** Where `owner/name` + a file resolve to (as the engine reads hub models, src/weights/httpSource.ts). */
export const HUB_URL = 'https://huggingface.co';
const HUB_REPO = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The engine's view of one stored LoRA for the loaded model. */
export type LoraStatus = { kind: 'adding' } | { kind: 'ok' } | { kind: 'error'; message: string };

export interface LoraError {
  name: string;
  message: string;
  /** What was being added ("lora0.safetensors", a URL…). */
  what: string;
}

export interface Loras {
  /** Stored LoRAs, oldest first; null until the store answered. */
  records: readonly LoraRecord[] | null;
  /** By name, for the loaded model; absent: not given to the engine (switched off, or no model). */
  status: ReadonlyMap<string, LoraStatus>;
  /** Whether a model is ready (LoRAs are checked against it and applied to it). */
  modelLoaded: boolean;
  /** Why nothing can be added now (no model loaded), or null. */
  addBlock: string | null;
  /** A generation runs: Remove waits. */
  running: boolean;
  /** What is being read or downloaded, or null. */
  busy: string | null;
  /** The last add that failed (nothing was stored), or a store failure. */
  error: LoraError | null;
  /** A short note (e.g. which LoRAs of a reopened entry are not stored any more). */
  notice: string | null;
  /** Why Generate must wait (LoRAs being added) or cannot use an enabled LoRA, or null. */
  block: string | null;
  addFile(file: File): void;
  addUrl(url: string): void;
  addHub(repo: string, file: string): void;
  setEnabled(name: string, on: boolean): void;
  setStrength(name: string, strength: number): void;
  remove(name: string): void;
  /** The requests with the enabled LoRAs (strength ≠ 0) attached. */
  apply(reqs: GenerateRequest[]): GenerateRequest[];
  /** History → Reopen: exactly these LoRAs on with their strengths, the rest off; names not stored are listed in `notice`. */
  reopen(uses: readonly LoraUse[] | undefined): void;
  dismiss(): void;
}

function message(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

/** The last path segment of a URL (decoded), or `lora.safetensors`. */
export function fileNameOf(url: string): string {
  try {
    const seg = new URL(url).pathname.split('/').filter(Boolean).at(-1);
    return seg ? decodeURIComponent(seg) : 'lora.safetensors';
  } catch {
    return 'lora.safetensors';
  }
}

/** `https://huggingface.co/<owner>/<name>/resolve/main/<file>`; InvalidInput-like Error for a bad repo id or file. */
export function hubLoraUrl(repo: string, file: string): string {
  const r = repo.trim();
  const f = file.trim().replace(/^\/+/, '');
  if (!HUB_REPO.test(r)) throw Object.assign(new Error(`"${r}" is not a hub repo id: use owner/name`), { name: 'InvalidInput' });
  if (!f || f.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw Object.assign(new Error(`"${f}" is not a file name in the repo (e.g. my_lora.safetensors)`), { name: 'InvalidInput' });
  }
  return `${HUB_URL}/${r}/resolve/main/${f.split('/').map(encodeURIComponent).join('/')}`;
}

/** Downloads a LoRA file; errors say what happened without the engine's "model" wording. */
async function download(url: string): Promise<Uint8Array> {
  if (!/^https?:\/\//i.test(url)) throw Object.assign(new Error(`"${url}" is not an http(s) URL`), { name: 'InvalidInput' });
  let res: Response;
  try {
    res = await fetch(url);
  } catch {
    throw Object.assign(
      new Error(`no answer from ${new URL(url).host}: this browser is offline, the link is wrong, or the server does not let other sites read the file (CORS)`),
      { name: 'DownloadFailed' },
    );
  }
  if (!res.ok) throw Object.assign(new Error(`the server answered ${res.status} ${res.statusText} for ${publicSource(url)}`), { name: 'DownloadFailed' });
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * `running`: a generation is running or queued; adding and removing wait for it (replacing or
 * removing a LoRA the engine holds releases its GPU terms, which the running image may be using).
 */
export function useLoras(engine: { remote: Comlink.Remote<GeneratorApi> } | null, model: ModelState, running = false): Loras {
  const [records, setRecords] = useState<readonly LoraRecord[] | null>(null);
  const [status, setStatusMap] = useState<ReadonlyMap<string, LoraStatus>>(() => new Map());
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<LoraError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const statusRef = useRef(new Map<string, LoraStatus>());
  /** The load the statuses belong to (a new load() replaces the engine's LoRAs). */
  const loadedRef = useRef<ModelInfo | null>(null);
  const pendingWrites = useRef(0);
  const info = model.kind === 'ready' ? model.info : null;
  const remote = engine?.remote ?? null;

  const setStatus = useCallback((name: string, s: LoraStatus | null) => {
    if (s) statusRef.current.set(name, s);
    else statusRef.current.delete(name);
    setStatusMap(new Map(statusRef.current));
  }, []);

  const refresh = useCallback(() => {
    listLoras().then(
      (r) => pendingWrites.current === 0 && setRecords(r),
      (e: unknown) => setError({ ...message(e), what: 'the stored LoRAs' }),
    );
  }, []);
  useEffect(() => {
    refresh();
    return onLorasChange(refresh);
  }, [refresh]);

  // A new load (or none): the engine holds no LoRA of ours any more.
  if (loadedRef.current !== info) {
    loadedRef.current = info;
    statusRef.current = new Map();
  }
  useEffect(() => setStatusMap(new Map(statusRef.current)), [info]);

  // Give the engine every enabled LoRA it does not hold yet for this load (after a load, a switch turned on, another tab's add).
  useEffect(() => {
    if (!info || !remote || !records) return;
    for (const r of records) {
      if (!r.enabled || statusRef.current.has(r.name)) continue;
      setStatus(r.name, { kind: 'adding' });
      void (async () => {
        try {
          const bytes = await loraBytes(r.name);
          await remote.addLora(r.name, bytes);
          if (loadedRef.current === info) setStatus(r.name, { kind: 'ok' });
        } catch (e) {
          if (loadedRef.current === info) setStatus(r.name, { kind: 'error', message: message(e).message });
        }
      })();
    }
  }, [info, remote, records, setStatus]);

  const addBytes = useCallback(
    async (name: string, origin: string, read: () => Promise<Uint8Array>) => {
      if (!remote || !info) return;
      setError(null);
      setNotice(null);
      setBusy(`Reading ${name}…`);
      try {
        const bytes = await read();
        setBusy(`Checking ${name} against the model…`);
        const got = await remote.addLora(name, bytes);
        const old = (await listLoras()).find((r) => r.name === name);
        const before = statusRef.current.get(name) ?? null;
        if (loadedRef.current === info) setStatus(name, { kind: 'ok' }); // the engine holds it now
        try {
          await putLora(
            { name, origin, size: bytes.byteLength, enabled: true, strength: old?.strength ?? 1, format: got.format, rank: got.rank, addedAt: old?.addedAt ?? Date.now() },
            bytes,
          );
        } catch (e) {
          if (!old) {
            await remote.removeLora(name).catch(() => undefined);
            if (loadedRef.current === info) setStatus(name, before);
          }
          throw e;
        }
        if (old) setNotice(`${name} replaced the stored LoRA of that name.`);
      } catch (e) {
        setError({ ...message(e), what: name });
      } finally {
        setBusy(null);
        refresh();
      }
    },
    [remote, info, refresh, setStatus],
  );

  const addFile = useCallback((file: File) => void addBytes(file.name || 'lora.safetensors', 'file', async () => new Uint8Array(await file.arrayBuffer())), [addBytes]);
  const addUrl = useCallback((url: string) => {
    const u = url.trim();
    void addBytes(fileNameOf(u), publicSource(u), () => download(u));
  }, [addBytes]);
  const addHub = useCallback((repo: string, file: string) => {
    let url: string;
    try {
      url = hubLoraUrl(repo, file);
    } catch (e) {
      setError({ ...message(e), what: `${repo}/${file}` });
      return;
    }
    void addBytes(fileNameOf(url), `${repo.trim()}/${file.trim()}`, () => download(url));
  }, [addBytes]);

  const write = useCallback(
    (name: string, patch: Partial<Pick<LoraRecord, 'enabled' | 'strength'>>) => {
      setRecords((rs) => rs?.map((r) => (r.name === name ? { ...r, ...patch } : r)) ?? rs);
      pendingWrites.current++;
      updateLora(name, patch)
        .catch((e: unknown) => setError({ ...message(e), what: name }))
        .finally(() => {
          pendingWrites.current--;
          refresh();
        });
    },
    [refresh],
  );
  const setEnabled = useCallback((name: string, on: boolean) => {
    // A LoRA the engine refused for this model is tried again when it is switched on again.
    if (on && statusRef.current.get(name)?.kind === 'error') setStatus(name, null);
    write(name, { enabled: on });
  }, [write, setStatus]);
  const setStrength = useCallback((name: string, s: number) => write(name, { strength: clampStrength(s) }), [write]);

  const remove = useCallback((name: string) => {
    setError(null);
    setNotice(null);
    setStatus(name, null);
    void remote?.removeLora(name).catch(() => undefined);
    deleteLora(name).then(refresh, (e: unknown) => setError({ ...message(e), what: name }));
  }, [remote, refresh, setStatus]);

  const apply = useCallback(
    (reqs: GenerateRequest[]): GenerateRequest[] => {
      const uses = (records ?? [])
        .filter((r) => r.enabled && r.strength !== 0 && statusRef.current.get(r.name)?.kind === 'ok')
        .map((r): LoraUse => ({ name: r.name, strength: r.strength }));
      return uses.length ? reqs.map((q) => ({ ...q, loras: uses })) : reqs;
    },
    [records],
  );

  const reopen = useCallback((uses: readonly LoraUse[] | undefined) => {
    const want = uses ?? [];
    setError(null);
    listLoras()
      .then(async (stored) => {
        const missing = want.filter((u) => !stored.some((r) => r.name === u.name)).map((u) => u.name);
        await selectLoras(want);
        setNotice(
          missing.length
            ? `Not stored in this browser any more: ${missing.join(', ')}. Add ${missing.length === 1 ? 'it' : 'them'} again to reproduce the image.`
            : want.length
              ? `LoRAs as in the reopened image: ${want.map((u) => `${u.name} × ${u.strength}`).join(', ')}.`
              : stored.length
                ? 'The reopened image used no LoRA: all switched off.'
                : null,
        );
      })
      .catch((e: unknown) => setError({ ...message(e), what: 'the reopened LoRAs' }))
      .finally(refresh);
  }, [refresh]);

  const enabled = (records ?? []).filter((r) => r.enabled);
  const adding = enabled.filter((r) => statusRef.current.get(r.name)?.kind === 'adding' || (info && !statusRef.current.has(r.name)));
  const refused = enabled.filter((r) => statusRef.current.get(r.name)?.kind === 'error');
  const block = !info
    ? null
    : adding.length
      ? 'Adding the LoRAs to the model…'
      : refused.length
        ? `Switch off or remove the LoRA ${refused.map((r) => r.name).join(', ')}: the loaded model refused it.`
        : null;

  return {
    records,
    status,
    modelLoaded: info !== null,
    addBlock: !info
      ? 'Load a model first: a LoRA is checked against the loaded model.'
      : running
        ? 'LoRAs can be added and removed once the running generation has finished.'
        : busy
          ? 'Wait for the LoRA being added.'
          : null,
    running,
    busy,
    error,
    notice,
    block,
    addFile,
    addUrl,
    addHub,
    setEnabled,
    setStrength,
    remove,
    apply,
    reopen,
    dismiss: () => {
      setError(null);
      setNotice(null);
    },
  };
}
