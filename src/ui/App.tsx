/** Layout and state wiring: capability banner, model panel, prompt panel, progress, output, errors. */
import { useState } from 'react';
import { CapabilityReport, WebGpuHelp } from './Capabilities';
import { ImageView } from './ImageView';
import { KioskEntry } from './kiosk/KioskEntry';
import { ModelPanel, saveLowMemory, savedLowMemory } from './ModelPanel';
import type { ModelSource } from '../worker/api';
import { LiveStatus, Progress, useAnnouncement } from './Progress';
import { Gallery } from './history/Gallery';
import { useHistorySaver } from './history/useHistory';
import { PromptForm, type ReopenParams, type SeedField } from './PromptForm';
import { QueueList } from './Queue';
import { ReferencePanel } from './ReferencePanel';
import { StoragePanel } from './StoragePanel';
import { ThemeSelect } from './ThemeSelect';
import { UpdatePrompt } from './UpdatePrompt';
import { stageLabel } from './format';
import { useGenerator } from './useGenerator';
import { useReferences } from './useReferences';
import { useStorage } from './useStorage';
import { randomSeed } from './validate';
import { ErrorMessage } from './ErrorMessage';

const ERROR_TITLES: Readonly<Record<string, string>> = {
  load: 'Loading the model failed',
  generate: 'Generation failed',
  worker: 'The engine worker failed',
};

export function App() {
  const gen = useGenerator();
  const store = useStorage(gen.engine);
  const refs = useReferences();
  const [seed, setSeed] = useState<SeedField>(() => ({ text: String(randomSeed()), random: false }));
  const [reopen, setReopen] = useState<ReopenParams | null>(null);
  const [lowMemory, setLowMemory] = useState(savedLowMemory);
  const load = (source: ModelSource) => gen.load(source, lowMemory ? { lowMemory: true } : {});
  const saver = useHistorySaver(gen.outputs);
  const caps = gen.capabilities;
  const announcement = useAnnouncement(gen);
  const running = gen.run.kind !== 'idle';
  const loading = gen.model.kind === 'loading';

  const engineBlock =
    caps === null ? 'Checking WebGPU…' : caps.error !== null ? 'Unavailable: this browser has no usable WebGPU (see the message above).' : null;
  const loadBlock = engineBlock ?? (loading ? 'Loading…' : running ? 'Wait for the running generation to finish.' : null);
  const modelBlock = gen.model.kind === 'none' ? 'Load a model first.' : loading ? 'Wait for the model to load.' : null;

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
          <ModelPanel model={gen.model} disabledReason={loadBlock} onLoad={load} lowMemory={lowMemory} onLowMemory={(on) => {
            setLowMemory(on);
            saveLowMemory(on);
          }} />
          <StoragePanel store={store} loadBlock={loadBlock} onLoad={load} />
          <ReferencePanel refs={refs} />
          <PromptForm
            engineBlock={engineBlock}
            modelBlock={modelBlock}
            running={running}
            cancelling={gen.run.kind === 'cancelling'}
            references={refs.items}
            seed={seed}
            onSeed={setSeed}
            onGenerate={gen.enqueue}
            onCancel={gen.cancel}
            reopen={reopen}
          />
          {gen.run.kind === 'running' ? (
            <Progress testId="progress" label={gen.run.progress ? stageLabel(gen.run.progress) : 'Starting…'}
              fraction={gen.run.progress?.fraction ?? null} />
          ) : null}
          {gen.run.kind === 'cancelling' ? <Progress testId="progress" label="Cancelling…" fraction={null} /> : null}
          <QueueList jobs={gen.jobs} onSkip={gen.skip} onRemove={gen.remove} />
          {gen.notice ? (
            <p className="notice" role="status" data-testid="notice">
              {gen.notice}
            </p>
          ) : null}
        </div>
        <div className="column">
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
            setReopen({ prompt: e.prompt, width: e.width, height: e.height, steps: e.steps });
            setSeed({ text: String(e.seed), random: false });
          }} />
        </div>
      </main>
    </div>
  );
}
