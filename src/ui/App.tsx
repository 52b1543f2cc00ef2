/** Layout and state wiring: capability banner, model panel, prompt panel, progress, output, errors. */
import { useState } from 'react';
import { ImageView } from './ImageView';
import { ModelPanel } from './ModelPanel';
import { Progress } from './Progress';
import { PromptForm, type SeedField } from './PromptForm';
import { QueueList } from './Queue';
import { ReferencePanel } from './ReferencePanel';
import { stageLabel } from './format';
import { useGenerator } from './useGenerator';
import { useReferences } from './useReferences';
import { randomSeed } from './validate';

const ERROR_TITLES: Readonly<Record<string, string>> = {
  load: 'Loading the model failed',
  generate: 'Generation failed',
  worker: 'The engine worker failed',
};

export function App() {
  const gen = useGenerator();
  const refs = useReferences();
  const [seed, setSeed] = useState<SeedField>(() => ({ text: String(randomSeed()), random: false }));
  const caps = gen.capabilities;
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
        {caps?.adapter ? (
          <p className="muted adapter" data-testid="adapter">
            GPU: {[caps.adapter.vendor, caps.adapter.architecture, caps.adapter.description].filter(Boolean).join(' · ') || 'unknown adapter'}
          </p>
        ) : null}
      </header>

      {caps?.error ? (
        <div className="banner" data-testid="webgpu-error">
          <strong>WebGPU is not available.</strong> {caps.error} Kleinbild runs the model on your GPU through WebGPU: use a
          recent Chrome or Edge (or Safari 26+) on a machine with a supported GPU.
        </div>
      ) : null}

      <div role="alert" className={gen.error ? 'alert' : 'alert empty'} data-testid="error">
        {gen.error ? (
          <>
            <strong>{ERROR_TITLES[gen.error.during] ?? 'Error'}</strong>{' '}
            <span data-testid="error-name">({gen.error.name})</span>: <span data-testid="error-message">{gen.error.message}</span>
            <button type="button" className="link" onClick={gen.dismissError} aria-label="Dismiss error">
              ×
            </button>
          </>
        ) : null}
      </div>

      <main className="layout">
        <div className="column">
          <ModelPanel model={gen.model} disabledReason={loadBlock} onLoad={gen.load} />
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
            onShow={gen.show}
            onReuseSeed={(s) => setSeed({ text: String(s), random: false })}
            onRegenerate={(req) => gen.enqueue([req])}
            regenerateBlock={engineBlock ?? modelBlock}
            onUseAsReference={(r) => refs.addPixels(`output-${r.seed}.png`, r.width, r.height, new Uint8ClampedArray(r.rgba))}
          />
        </div>
      </main>
    </div>
  );
}
