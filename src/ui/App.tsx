/** Layout and state wiring: capability banner, model panel, prompt panel, progress, output, errors. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { CapabilityReport, WebGpuHelp } from './Capabilities';
import { ImageView } from './ImageView';
import { KioskEntry } from './kiosk/KioskEntry';
import { ModelPanel, saveLowMemory, savedLowMemory } from './ModelPanel';
import type { ModelSource, StoredModel } from '../worker/api';
import { LiveStatus, Progress, useAnnouncement } from './Progress';
import { Gallery } from './history/Gallery';
import { useHistorySaver } from './history/useHistory';
import { type FormModel, PromptForm, type ReopenParams, type SeedField } from './PromptForm';
import { QueueList } from './Queue';
import { ReferencePanel } from './ReferencePanel';
import { LoraPanel } from './LoraPanel';
import { useLoras } from './useLoras';
import { StoragePanel } from './StoragePanel';
import { ThemeSelect } from './ThemeSelect';
import { UpdatePrompt } from './UpdatePrompt';
import { stageLabel } from './format';
import { useGenerator } from './useGenerator';
import { SafetyPanel } from './safety/SafetyPanel';
import { useSafetyScreen } from './safety/screen';
import { saveSafety, savedSafety } from './safety/settings';
import './layout.css';
import { useReferences } from './useReferences';
import { useStorage } from './useStorage';
import { randomSeed } from './validate';
import { ErrorMessage } from './ErrorMessage';
import { FirstRun } from './FirstRun';
import { savedLastModel } from './lastModel';
import { useGpuFit, useRecommendedChoice } from './useGpuFit';
import type { ModelState } from './useGenerator';
import { formatBytes } from './format';

const ERROR_TITLES: Readonly<Record<string, string>> = {
  load: 'Loading the model failed',
  generate: 'Generation failed',
  worker: 'The engine worker failed',
  safety: 'The safety check failed (the image is not shown)',
};

/** The layout's one-column breakpoint (styles.css .layout). */
const ONE_COLUMN_QUERY = '(max-width: 820px)';
const STORE_SOURCE = 'store:';

/** "Loading the model… 42 %" beside Generate while a model loads. */
function loadingText(m: Extract<ModelState, { kind: 'loading' }>): string {
  const p = m.progress;
  const pct = p && p.totalBytes > 0 ? ` ${Math.floor((100 * p.loadedBytes) / p.totalBytes)} %` : '';
  return `Loading the model…${pct}`;
}

/** The model section's one line: what is loaded (by its name), loading, or that nothing is. */
function modelSummary(m: ModelState, name: string): string {
  if (m.kind === 'ready') return `Model: ${name} · ready · ${formatBytes(m.info.weightBytes)} of weights`;
  if (m.kind === 'loading') return `Model: ${loadingText(m)}`;
  return 'Model: none loaded';
}

/** A stored model by its name ("FLUX.2 [klein] 4B · 4-bit"), anything else by its source. */
function displayName(source: ModelSource, stored: readonly StoredModel[]): string {
  const m = source.startsWith(STORE_SOURCE) ? stored.find((s) => `${STORE_SOURCE}${s.id}` === source) : undefined;
  return m?.name ?? source;
}

export function App() {
  const [safetyConfig, setSafetyConfig] = useState(savedSafety);
  const safety = useSafetyScreen(safetyConfig, true); // loaded when turned on: a bad model shows at once
  const gen = useGenerator(safety.screen);
  const store = useStorage(gen.engine);
  const refs = useReferences();
  const loras = useLoras(gen.engine, gen.model, gen.run.kind !== 'idle');
  const [seed, setSeed] = useState<SeedField>(() => ({ text: String(randomSeed()), random: false }));
  const [reopen, setReopen] = useState<ReopenParams | null>(null);
  const [lowMemory, setLowMemory] = useState(savedLowMemory);
  const { load: genLoad } = gen;
  const load = useCallback((source: ModelSource) => genLoad(source, lowMemory ? { lowMemory: true } : {}), [genLoad, lowMemory]);
  const saver = useHistorySaver(gen.outputs);
  const caps = gen.capabilities;
  const announcement = useAnnouncement(gen);
  const running = gen.run.kind !== 'idle';
  const loading = gen.model.kind === 'loading';

  const engineBlock =
    caps === null ? 'Checking WebGPU…' : caps.error !== null ? 'Unavailable: this browser has no usable WebGPU (see the message above).' : null;
  const loadBlock = engineBlock ?? (loading ? 'Loading…' : running ? 'Wait for the running generation to finish.' : null);
  const modelBlock = (gen.model.kind === 'none' ? 'Load a model first.' : gen.model.kind === 'loading' ? loadingText(gen.model) : null) ?? loras.block;
  // The prompt form follows the ready model's kind (base: guidance, negative prompt, 50 steps); while
  // another model loads it keeps the last one's, so its fields do not jump back and forth.
  const formModel = useRef<FormModel | null>(null);
  if (gen.model.kind === 'ready') formModel.current = gen.model.info;
  else if (gen.model.kind === 'none') formModel.current = null;

  // The last used model loads by itself (once, when the engine is up and, for a stored model, the
  // store has answered and still holds it completely).
  const lastModel = useRef(savedLastModel());
  const storeKnown = store.report !== null || store.error?.during === 'storage'; // the store answered (or cannot)
  const [autoChecked, setAutoChecked] = useState(false);
  const engineUp = caps !== null && caps.error === null;
  useEffect(() => {
    if (autoChecked || !engineUp) return;
    const src = lastModel.current;
    if (src?.startsWith(STORE_SOURCE) && !storeKnown) return; // wait for the store
    setAutoChecked(true);
    if (!src || gen.model.kind !== 'none') return;
    if (src.startsWith(STORE_SOURCE) && !store.report?.models.some((m) => m.complete && `${STORE_SOURCE}${m.id}` === src)) return;
    load(src);
  }, [autoChecked, engineUp, storeKnown, store.report, gen.model.kind, load]);

  // First run: nothing stored completely and no model ready. Once a model is stored or ready the
  // card gives way for the rest of the visit (deleting the last model does not fold the panels away).
  const [firstRunOver, setFirstRunOver] = useState(false);
  const somethingStored = store.report?.models.some((m) => m.complete) ?? false;
  useEffect(() => {
    if (somethingStored || gen.model.kind === 'ready') setFirstRunOver(true);
  }, [somethingStored, gen.model.kind]);
  const firstRun = engineUp && autoChecked && store.report !== null && !firstRunOver && !somethingStored && gen.model.kind !== 'ready';
  // Until the engine and the store have answered, neither the card nor the model section shows (one
  // of them would replace the other a moment later); without WebGPU the section shows at once.
  const settled = caps !== null && (caps.error !== null || (autoChecked && storeKnown));
  const recommended = useRecommendedChoice();
  const fit = useGpuFit(gen.engine, firstRun ? (recommended?.recipe.quant ?? null) : null, recommended?.repackGroup);
  const streamFit = useGpuFit(gen.engine, firstRun ? 'none' : null);

  // The model section is open until a model is ready, then folds into its one-line summary.
  const [modelOpen, setModelOpen] = useState(true);
  const ready = gen.model.kind === 'ready';
  useEffect(() => {
    if (ready) setModelOpen(false);
  }, [ready]);

  // Phones (one column): a starting generation brings progress, preview and result into view.
  const outputColumn = useRef<HTMLDivElement>(null);
  const started = gen.run.kind === 'running';
  useEffect(() => {
    if (!started || !window.matchMedia(ONE_COLUMN_QUERY).matches) return;
    const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    outputColumn.current?.scrollIntoView({ block: 'start', behavior: reduce ? 'auto' : 'smooth' });
  }, [started]);

  const modelName = displayName(gen.model.kind === 'ready' ? gen.model.info.source : gen.model.kind === 'loading' ? gen.model.source : '', store.report?.models ?? []);
  const modelPanels = (
    <>
      <ModelPanel model={gen.model} modelName={modelName} streamNeedBytes={typeof streamFit === 'object' && streamFit ? streamFit.needBytes : null} disabledReason={loadBlock} onLoad={load} lowMemory={lowMemory} onLowMemory={(on) => {
        setLowMemory(on);
        saveLowMemory(on);
      }} />
      <StoragePanel store={store} loadBlock={loadBlock} onLoad={load} onUnload={gen.unload} />
    </>
  );

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          Kleinbild <span className="muted">FLUX.2 [klein] on WebGPU</span>
        </h1>
        <div className="header-tools">
          <CapabilityReport caps={caps} />
          <ThemeSelect />
          <KioskEntry />
        </div>
      </header>
      <UpdatePrompt />
      <LiveStatus message={announcement} />

      {caps?.error ? (
        <div className="banner" data-testid="webgpu-error">
          <strong>WebGPU is not available.</strong> {caps.error}
          <WebGpuHelp />
        </div>
      ) : null}

      <div role="alert" className={gen.error ? 'alert' : 'alert empty'} data-testid="error">
        {gen.error ? (
          <>
            <ErrorMessage error={gen.error} heading={ERROR_TITLES[gen.error.during] ?? 'Error'} testIds={{ name: 'error-name', message: 'error-message' }} />{' '}
            <button type="button" className="link" onClick={gen.dismissError} aria-label="Dismiss error">
              ×
            </button>
          </>
        ) : null}
      </div>

      <main className="layout">
        <div className="column">
          {firstRun ? (
            <FirstRun choice={recommended} fit={fit} store={store} block={engineBlock} onStored={(m) => load(`store:${m.id}`)}>
              {modelPanels}
            </FirstRun>
          ) : null}
          <PromptForm
            engineBlock={engineBlock}
            modelBlock={modelBlock}
            running={running}
            cancelling={gen.run.kind === 'cancelling'}
            references={refs.items}
            seed={seed}
            onSeed={setSeed}
            onGenerate={(reqs) => gen.enqueue(loras.apply(reqs))}
            onCancel={gen.cancel}
            reopen={reopen}
            model={formModel.current}
          />
          {gen.notice ? (
            <p className="notice" role="status" data-testid="notice">
              {gen.notice}
            </p>
          ) : null}
          <ReferencePanel refs={refs} />
          <LoraPanel loras={loras} />
          <SafetyPanel config={safetyConfig} state={safety.state} onApply={(c) => setSafetyConfig(saveSafety(c))} />
          {firstRun || !settled ? null : (
            <details className="model-section" open={modelOpen} onToggle={(e) => setModelOpen(e.currentTarget.open)} data-testid="model-section">
              <summary data-testid="model-summary">{modelSummary(gen.model, modelName)}</summary>
              {modelPanels}
            </details>
          )}
        </div>
        <div className="column output-column" ref={outputColumn}>
          {gen.run.kind === 'running' ? (
            <Progress testId="progress" label={gen.run.progress ? stageLabel(gen.run.progress) : 'Starting…'}
              fraction={gen.run.progress?.fraction ?? null} />
          ) : null}
          {gen.run.kind === 'cancelling' ? <Progress testId="progress" label="Cancelling…" fraction={null} /> : null}
          <QueueList jobs={gen.jobs} onSkip={gen.skip} onRemove={gen.remove} />
          <ImageView
            shown={gen.shown}
            outputs={gen.outputs}
            preview={gen.preview}
            onShow={gen.show}
            onReuseSeed={(s) => setSeed({ text: String(s), random: false })}
            onRegenerate={(req) => gen.enqueue([req])}
            regenerateBlock={engineBlock ?? modelBlock}
            onUseAsReference={(r) => refs.addPixels(`output-${r.seed}.png`, r.width, r.height, new Uint8ClampedArray(r.rgba))}
          />
          <Gallery saver={saver} onReopen={(e) => {
            setReopen({
              prompt: e.prompt, width: e.width, height: e.height, steps: e.steps,
              ...(e.guidance !== undefined ? { guidance: e.guidance } : {}),
              ...(e.negativePrompt !== undefined ? { negativePrompt: e.negativePrompt } : {}),
            });
            setSeed({ text: String(e.seed), random: false });
            loras.reopen(e.loras);
          }} />
        </div>
      </main>
    </div>
  );
}
