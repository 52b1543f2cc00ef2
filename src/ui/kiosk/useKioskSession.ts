/**
 * The kiosk's visitor session: the prompt, the refusal and queue messages, the visitor's requests
 * in the shared queue (./queue.ts), the running image's progress, the visitor's latest result, and
 * the idle clock (./idle.ts) that resets the session and starts the attract loop.
 *
 * Every finished image goes to the history store (the attract loop's gallery), whoever asked for
 * it; only the current visitor's own images are shown as their result.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { GenerateProgress, GenerateResult } from '../../worker/api';
import { errorText, saveOutput } from '../history/save';
import { randomSeed } from '../validate';
import { type Blocklist, compileBlocklist, REFUSAL_MESSAGE } from './blocklist';
import type { KioskConfig } from './config';
import { attractSlide, idleStart, interact, tick, type IdleTimings } from './idle';
import { dropVisitor, EMPTY_QUEUE, enqueue, finish, type KioskQueue, type KioskRequest, start, withdraw } from './queue';
import type { Engine } from './useEngine';
import { blurredResult, type SafetyScreen } from '../safety/screen';

/** Shown instead of a picture the safety checker flagged (action block). */
export const FLAGGED_BLOCK_MESSAGE = "Oops! That picture didn't pass our picture check, so we can't show it. Please try a different idea.";
/** Shown under a blurred picture the safety checker flagged (action blur). */
export const FLAGGED_BLUR_MESSAGE = "That picture didn't pass our picture check, so it stays blurry and won't join the gallery. Please try a different idea.";

/** Shown when the picture check cannot run (e.g. its classifier cannot be downloaded): no picture is made or shown. */
export const SAFETY_UNAVAILABLE_MESSAGE = "Sorry, our picture check isn't working right now, so we can't make pictures. Please ask a member of staff.";

/** The kiosk's safety checker: `ready()` before an image is made, `screen` on the finished image. */
export interface KioskSafety {
  screen: SafetyScreen;
  ready(): Promise<void>;
}

/** The safety checker could not load or run: neither the picture's fault nor the visitor's. */
class CheckUnavailable extends Error {}

/** `p`, its rejection turned into CheckUnavailable. */
function checked<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => Promise.reject(new CheckUnavailable(errorText(e), { cause: e })));
}

/** How often the idle clock is advanced. */
const TICK_MS = 250;

/** The visitor's latest image. */
export interface KioskResult {
  prompt: string;
  result: GenerateResult;
  /** The safety checker flagged it (action blur): `result` holds the blurred pixels. */
  flagged?: boolean;
}

export interface KioskSession {
  prompt: string;
  /** Sets the prompt (typed or from a chip) and clears the message. */
  setPrompt(text: string): void;
  /** The message under the prompt (a refusal, a full queue, a failed image), or null. */
  message: string | null;
  /** Queues the prompt for the current visitor, or explains why not. */
  submit(): void;
  /** The current visitor's requests still waiting, with their place in line (1 = next). */
  mine: readonly { id: number; prompt: string; place: number }[];
  /** Withdraws one of the current visitor's waiting requests. */
  withdraw(id: number): void;
  /** The running request's progress when it is the current visitor's; null otherwise. */
  running: { prompt: string; progress: GenerateProgress | null } | null;
  /** Whether someone else's image is being made right now. */
  othersRunning: boolean;
  result: KioskResult | null;
  /** The attract loop's slide number, or null while the visitor is active. */
  attract: number | null;
  /** Records an interaction (touch, click, key): ends the idle period and the attract loop. */
  poke(): void;
  /** Increments at every idle reset. */
  visitor: number;
  /** The configured blocked words, compiled. */
  blocklist: Blocklist;
}

/**
 * `safety`: the safety checker (null: off). A flagged image is never saved (so never in the attract
 * loop); the visitor gets a friendly notice, and with blur the picture blurred. When the checker
 * cannot load, no image is made (SAFETY_UNAVAILABLE_MESSAGE, checked before the engine runs); a
 * check that fails on a finished image gets the same message and the image is dropped.
 */
export function useKioskSession(config: KioskConfig, engine: Engine, safety: KioskSafety | null = null): KioskSession {
  const blocklist = useMemo(() => compileBlocklist(config.blockedWords), [config.blockedWords]);
  const timings = useMemo<IdleTimings>(
    () => ({ resetMs: config.idleResetSeconds * 1000, attractMs: config.attractAfterSeconds * 1000, slideMs: config.slideSeconds * 1000 }),
    [config],
  );
  const [prompt, setPrompt] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [result, setResult] = useState<KioskResult | null>(null);
  const [progress, setProgress] = useState<GenerateProgress | null>(null);
  const [attract, setAttract] = useState<number | null>(null);
  const [visitor, setVisitor] = useState(0);
  const [queue, setQueueState] = useState<KioskQueue>(EMPTY_QUEUE);
  // The drain loop and the idle timer read these between renders.
  const queueRef = useRef(queue);
  const visitorRef = useRef(visitor);
  const idle = useRef(idleStart(performance.now()));
  const nextId = useRef(1);

  const setQueue = useCallback((q: KioskQueue) => {
    queueRef.current = q;
    setQueueState(q);
  }, []);

  const poke = useCallback(() => {
    const now = performance.now();
    idle.current = interact(idle.current, now);
    setAttract(null);
  }, []);

  const reset = useCallback(() => {
    setQueue(dropVisitor(queueRef.current, visitorRef.current));
    visitorRef.current += 1;
    setVisitor(visitorRef.current);
    setPrompt('');
    setMessage(null);
    setResult(null);
  }, [setQueue]);

  const ownRunning = queue.running !== null && queue.running.visitor === visitor;
  const hold = ownRunning || engine.state.kind !== 'ready';
  const holdRef = useRef(hold);
  holdRef.current = hold;

  useEffect(() => {
    const timer = setInterval(() => {
      const now = performance.now();
      const r = tick(idle.current, now, holdRef.current, timings);
      idle.current = r.state;
      if (r.reset) reset();
      setAttract(attractSlide(idle.current, now, timings));
    }, TICK_MS);
    return () => clearInterval(timer);
  }, [timings, reset]);

  // Runs the queue: one request at a time, whenever the engine is ready and something waits.
  const ready = engine.state.kind === 'ready';
  const { generate } = engine;
  useEffect(() => {
    if (!ready) return;
    const next = start(queueRef.current);
    if (!next) return;
    setQueue(next.queue);
    const job: KioskRequest = next.started;
    const req = { prompt: job.prompt, width: config.width, height: config.height, steps: config.steps, seed: randomSeed() };
    const own = () => job.visitor === visitorRef.current;
    setProgress(null);
    (safety ? checked(safety.ready()) : Promise.resolve())
      .then(() => generate(req, (p) => own() && setProgress(p)))
      .then(async (res) => ({ res, verdict: safety ? await checked(safety.screen(res)) : null }))
      .then(
        ({ res, verdict }) => {
          if (verdict?.flagged) {
            console.warn(`Kiosk: image #${job.id} flagged by the safety checker (${verdict.action}); not stored`);
            if (own()) {
              if (verdict.action === 'blur') setResult({ prompt: job.prompt, result: blurredResult(res), flagged: true });
              setMessage(verdict.action === 'blur' ? FLAGGED_BLUR_MESSAGE : FLAGGED_BLOCK_MESSAGE);
              poke();
            }
            return;
          }
          if (own()) {
            setResult({ prompt: job.prompt, result: res });
            poke(); // the visitor has something new to look at: idle time starts now
          }
          const passed = verdict ? { checked: { model: verdict.model, scores: verdict.scores } } : {}; // kept with the picture: gallery.ts
          saveOutput({ id: job.id, req, model: config.model, result: res, ...passed }).catch((e: unknown) =>
            console.error(`Kiosk: image #${job.id} could not be stored in the gallery: ${errorText(e)}`),
          );
        },
        (e: unknown) => {
          if (e instanceof CheckUnavailable) {
            console.error(`Kiosk: image #${job.id} dropped: the safety checker is unavailable: ${e.message}`);
            if (own()) setMessage(SAFETY_UNAVAILABLE_MESSAGE);
            return;
          }
          console.error(`Kiosk: image #${job.id} failed`, e);
          if (own()) setMessage('Sorry, that picture could not be made. Please try again.');
        },
      )
      .finally(() => setQueue(finish(queueRef.current, job.id)));
  }, [ready, queue, generate, config, setQueue, poke, safety]);

  const submit = useCallback(() => {
    const text = prompt.trim();
    if (text === '') return setMessage('Type an idea or pick one of the suggestions first.');
    if (text.length > config.maxPromptLength) return setMessage(`Please keep it under ${config.maxPromptLength} characters.`);
    if (blocklist.find(text) !== null) return setMessage(REFUSAL_MESSAGE);
    const r = enqueue(queueRef.current, { id: nextId.current, visitor: visitorRef.current, prompt: text }, {
      maxQueued: config.maxQueued,
      maxPerVisitor: config.maxQueuedPerVisitor,
    });
    if ('refused' in r) return setMessage(r.refused);
    nextId.current += 1;
    setMessage(null);
    setQueue(r.queue);
  }, [prompt, config, blocklist, setQueue]);

  const mine = queue.waiting.flatMap((r, i) => (r.visitor === visitor ? [{ id: r.id, prompt: r.prompt, place: i + 1 }] : []));
  const edit = useCallback((text: string) => {
    setPrompt(text);
    setMessage(null);
  }, []);

  return {
    prompt,
    setPrompt: edit,
    message,
    submit,
    mine,
    withdraw: (id) => setQueue(withdraw(queueRef.current, id, visitorRef.current)),
    running: ownRunning && queue.running ? { prompt: queue.running.prompt, progress } : null,
    othersRunning: queue.running !== null && !ownRunning,
    result,
    attract,
    poke,
    visitor,
    blocklist,
  };
}
