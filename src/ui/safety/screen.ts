/**
 * The UI side of the safety checker: what a checked image's verdict looks like, the blur applied to
 * a flagged image before it is ever painted, and the hook that owns the safety worker. The worker
 * client is imported dynamically: with the checker off, transformers.js and onnxruntime-web are
 * never fetched.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { formatScores, type SafetyAction, type SafetyConfig } from '../../safety/config';
import type { BrowserSafetyChecker, SafetyBackend } from '../../safety/browser/client';
import type { GenerateResult } from '../../worker/api';

/** A checked image's verdict: `flagged` with the action to take, the scores and the check's cost (ms). */
export interface SafetyVerdict {
  /** The classifier that decided (SafetyConfig.model). */
  model: string;
  flagged: boolean;
  action: Exclude<SafetyAction, 'off'>;
  scores: Record<string, number>;
  ms: number;
}

/** Classifies a finished image; rejects when the classifier cannot be loaded or run (the image is then not shown). */
export type SafetyScreen = (result: GenerateResult) => Promise<SafetyVerdict>;

export type SafetyState = { kind: 'off' } | { kind: 'idle' } | { kind: 'loading' } | { kind: 'ready'; labels: string[]; loadMs: number; device: SafetyBackend; fallback?: string } | { kind: 'failed'; message: string };

/** `nsfw 0.9731` for the flagged labels of `config` (the highest first). */
export function describeVerdict(v: SafetyVerdict): string {
  return formatScores(v.scores);
}

/**
 * A strongly blurred copy of an RGBA image (w·h·4 bytes): a mosaic of blocks about 1/12 of the longer
 * side, each the mean colour of its pixels. Only this copy reaches a canvas, a download or the clipboard.
 */
export function blurRgba(rgba: Uint8ClampedArray, width: number, height: number): Uint8ClampedArray {
  const block = Math.max(4, Math.ceil(Math.max(width, height) / 12));
  const out = new Uint8ClampedArray(rgba.length);
  for (let by = 0; by < height; by += block) {
    for (let bx = 0; bx < width; bx += block) {
      const x1 = Math.min(width, bx + block);
      const y1 = Math.min(height, by + block);
      const sum = [0, 0, 0];
      for (let y = by; y < y1; y++) for (let x = bx; x < x1; x++) for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (rgba[(y * width + x) * 4 + c] as number);
      const n = (x1 - bx) * (y1 - by);
      for (let y = by; y < y1; y++) {
        for (let x = bx; x < x1; x++) {
          const i = (y * width + x) * 4;
          out[i] = (sum[0] as number) / n;
          out[i + 1] = (sum[1] as number) / n;
          out[i + 2] = (sum[2] as number) / n;
          out[i + 3] = 255;
        }
      }
    }
  }
  return out;
}

/** `result` with its pixels replaced by blurRgba's. */
export function blurredResult(result: GenerateResult): GenerateResult {
  return { ...result, rgba: blurRgba(result.rgba, result.width, result.height) };
}

/**
 * Owns the safety worker for `config` (null or action `off`: none, and `screen` is null). The
 * classifier loads when `eager` is set (the kiosk: at start) or at the first check (the app), and
 * again after a failure; a new config ends the old worker. `ready()` resolves once it is loaded
 * (loading it again after a failure) and rejects with the load's error: the kiosk asks before it
 * spends a minute on a picture nobody could check.
 */
export function useSafetyScreen(config: SafetyConfig | null, eager: boolean): { screen: SafetyScreen | null; ready: (() => Promise<void>) | null; state: SafetyState } {
  const on = config !== null && config.action !== 'off';
  const key = on ? JSON.stringify(config) : null;
  const [state, setState] = useState<SafetyState>({ kind: 'off' });
  const checker = useRef<Promise<BrowserSafetyChecker> | null>(null);
  const configRef = useRef(config);
  configRef.current = config;

  const get = useCallback((): Promise<BrowserSafetyChecker> => {
    const c = configRef.current;
    if (!c) return Promise.reject(new Error('the safety checker is off'));
    if (checker.current) return checker.current;
    setState({ kind: 'loading' });
    const p = import('../../safety/browser/client').then((m) => m.createBrowserSafetyChecker(c));
    checker.current = p;
    p.then(
      (ch) => {
        if (checker.current === p) setState({ kind: 'ready', labels: ch.labels, loadMs: ch.loadMs, device: ch.device, ...(ch.fallback !== undefined ? { fallback: ch.fallback } : {}) });
        console.info(`Safety checker: ${c.model} loaded in ${ch.loadMs.toFixed(0)} ms on ${ch.device} (labels ${ch.labels.join(', ')})${ch.fallback ? `; not on WebGPU: ${ch.fallback}` : ''}`);
      },
      (e: unknown) => {
        if (checker.current !== p) return;
        checker.current = null; // the next check tries again
        const message = e instanceof Error ? e.message : String(e);
        console.error(`Safety checker: ${message}`);
        setState({ kind: 'failed', message });
      },
    );
    return p;
  }, []);

  useEffect(() => {
    if (key === null) {
      setState({ kind: 'off' });
      return;
    }
    setState({ kind: 'idle' }); // loads on the first check, or now when eager
    if (eager) void get().catch(() => undefined);
    return () => {
      const p = checker.current;
      checker.current = null;
      p?.then((ch) => ch.dispose(), () => undefined);
    };
  }, [key, eager, get]);

  const action = on ? config.action : null;
  const screen = useCallback<SafetyScreen>(
    async (result) => {
      const ch = await get();
      const r = await ch.check(result.rgba, result.width, result.height);
      console.info(`Safety check: ${r.ms.toFixed(1)} ms on ${ch.device} for ${result.width}×${result.height} (${formatScores(r.scores)})${r.flagged ? ' — flagged' : ''}`);
      return { ...r, model: ch.config.model, action: action === 'blur' ? 'blur' : 'block' };
    },
    [get, action],
  );
  const ready = useCallback(() => get().then(() => undefined), [get]);
  return { screen: on ? screen : null, ready: on ? ready : null, state };
}
