/**
 * Output panel: the shown image in a canvas, the strip of this session's images, downloads (PNG
 * with parameters in text chunks, JPEG or WebP at a chosen quality), copy image / prompt, reuse
 * seed, regenerate, use as reference, and the image's total and per-stage timings.
 */
import { useEffect, useRef, useState } from 'react';
import type { GeneratePreview, GenerateRequest, GenerateResult } from '../worker/api';
import { formatMs } from './format';
import { downloadBlob, outputPng } from './history/save';
import { ResultStrip } from './Queue';
import type { Output } from './useGenerator';
import './preview.css';

export interface ImageViewProps {
  shown: Output | null;
  outputs: readonly Output[];
  /** The running image's live preview: shown in place of the image until the final one replaces it. */
  preview?: GeneratePreview | null;
  onShow(id: number): void;
  /** Adds the shown image to the reference panel. */
  onUseAsReference(result: GenerateResult): void;
  onReuseSeed(seed: number): void;
  onRegenerate(req: GenerateRequest): void;
  /** Why Regenerate is disabled (no model loaded), or null. */
  regenerateBlock: string | null;
}

type LossyType = 'image/jpeg' | 'image/webp';

function canvasBlob(canvas: HTMLCanvasElement, type: LossyType, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error(`this browser cannot encode ${type}`))), type, quality),
  );
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Sizes `c` to width × height and draws `rgba` (RGBA8, row-major, width·height·4 bytes) into it;
 * false when the canvas gives no 2D context. The bytes are copied: ImageData takes a Uint8ClampedArray
 * over an ArrayBuffer, and the contract's array type also allows a SharedArrayBuffer.
 */
function paint(c: HTMLCanvasElement, rgba: Uint8ClampedArray, width: number, height: number): boolean {
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d');
  if (!ctx) return false;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return true;
}

export function ImageView({ shown, outputs, preview = null, onShow, onUseAsReference, onReuseSeed, onRegenerate, regenerateBlock }: ImageViewProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [lossy, setLossy] = useState<LossyType>('image/jpeg');
  const [quality, setQuality] = useState(90);
  const [status, setStatus] = useState<string | null>(null);
  const result = shown?.result ?? null;
  const frame = useRef<HTMLDivElement>(null);
  const previewCanvas = useRef<HTMLCanvasElement>(null);
  /** Preview frames drawn this session (data-preview-frames: lets the e2e test see that previews came). */
  const previewFrames = useRef(0);

  useEffect(() => {
    setStatus(null);
    const c = canvas.current;
    if (!c || !result) return;
    if (!paint(c, result.rgba, result.width, result.height)) return;
    c.dataset.rendered = `${result.width}x${result.height}:${result.seed}`;
  }, [result]);

  useEffect(() => {
    const c = previewCanvas.current;
    if (!c || !preview) return;
    if (!paint(c, preview.rgba, preview.width, preview.height)) return;
    previewFrames.current += 1;
    if (frame.current) {
      frame.current.dataset.previewFrames = String(previewFrames.current);
      frame.current.dataset.previewLast = `${preview.step}/${preview.steps}:${preview.width}x${preview.height}`;
    }
  }, [preview]);

  async function downloadLossy(o: Output) {
    const c = canvas.current;
    if (!c) return;
    try {
      downloadBlob(await canvasBlob(c, lossy, quality / 100), `kleinbild-${o.result.seed}.${lossy === 'image/jpeg' ? 'jpg' : 'webp'}`);
    } catch (e) {
      setStatus(`Could not save: ${message(e)}.`);
    }
  }

  async function copyImage(o: Output) {
    try {
      await navigator.clipboard.write([new ClipboardItem({ 'image/png': outputPng(o) })]);
      setStatus('Image copied to the clipboard.');
    } catch (e) {
      setStatus(`Copying the image is not permitted here (${message(e)}). Use Download instead.`);
    }
  }

  async function copyPrompt(o: Output) {
    try {
      await navigator.clipboard.writeText(o.req.prompt);
      setStatus('Prompt copied to the clipboard.');
    } catch (e) {
      setStatus(`Copying text is not permitted here (${message(e)}).`);
    }
  }

  const t = result?.timings;
  return (
    <section className="panel output" aria-labelledby="output-heading">
      <h2 id="output-heading">Image</h2>
      <div className="canvas-frame" ref={frame} data-testid="canvas-frame">
        <canvas ref={canvas} data-testid="output-canvas" data-flagged={shown?.flagged ? 'true' : undefined} hidden={!result || preview !== null} role="img"
          aria-label={result ? `Generated image, ${result.width}×${result.height}, seed ${result.seed}` : 'No image yet'} />
        {preview ? (
          <>
            <canvas ref={previewCanvas} className="preview-canvas" data-testid="preview-canvas" role="img"
              aria-label={`Preview after step ${preview.step} of ${preview.steps}`} />
            <span className="preview-label" data-testid="preview-label">
              preview · step {preview.step}/{preview.steps}
            </span>
          </>
        ) : null}
        {!result && !preview ? <p className="muted">No image yet.</p> : null}
        {shown?.flagged && !preview ? (
          <p className="safety-flagged" data-testid="safety-flagged">Blurred: the safety checker flagged this image. It is not saved to the history.</p>
        ) : null}
      </div>
      <ResultStrip outputs={outputs} shownId={shown?.id ?? null} onShow={onShow} />
      {shown && result ? (
        <>
          <p className="muted output-info" data-testid="output-info">
            {result.width}×{result.height} · seed {result.seed} · {shown.req.steps} steps{shown.req.guidance !== undefined ? ` · guidance ${shown.req.guidance}` : ''} · {t ? formatMs(t.totalMs) : ''}
          </p>
          <div className="row">
            <button type="button" onClick={() => downloadBlob(outputPng(shown), `kleinbild-${result.seed}.png`)} data-testid="download-button">
              Download PNG
            </button>
            <button type="button" onClick={() => void downloadLossy(shown)} data-testid="download-lossy">
              Download {lossy === 'image/jpeg' ? 'JPEG' : 'WebP'}
            </button>
            <select value={lossy} onChange={(e) => setLossy(e.target.value as LossyType)} aria-label="Lossy format" data-testid="lossy-format">
              <option value="image/jpeg">JPEG</option>
              <option value="image/webp">WebP</option>
            </select>
            <label className="inline">
              <span>Quality {quality}</span>
              <input type="range" min={10} max={100} value={quality} onChange={(e) => setQuality(Number(e.target.value))}
                data-testid="lossy-quality" />
            </label>
          </div>
          <div className="row">
            <button type="button" onClick={() => void copyImage(shown)} data-testid="copy-image">Copy image</button>
            <button type="button" onClick={() => void copyPrompt(shown)} data-testid="copy-prompt">Copy prompt</button>
            <button type="button" onClick={() => onReuseSeed(result.seed)} data-testid="reuse-seed">Reuse seed</button>
            <button type="button" onClick={() => onRegenerate(shown.req)} disabled={regenerateBlock !== null}
              title={regenerateBlock ?? 'Queue this image again with the same parameters'} data-testid="regenerate">
              Regenerate
            </button>
            <button type="button" onClick={() => onUseAsReference(result)} data-testid="use-as-reference">Use as reference</button>
          </div>
          <p className="hint" role="status" data-testid="output-status">{status ?? ''}</p>
          {t ? (
            <table className="timings" data-testid="timings">
              <caption>Timings</caption>
              <tbody>
                <tr>
                  <th scope="row">Encode prompt</th>
                  <td>{formatMs(t.encodeMs)}</td>
                </tr>
                {t.stepMs.map((ms, i) => (
                  <tr key={i}>
                    <th scope="row">Step {i + 1}</th>
                    <td>{formatMs(ms)}</td>
                  </tr>
                ))}
                <tr>
                  <th scope="row">Decode</th>
                  <td>{formatMs(t.decodeMs)}</td>
                </tr>
                <tr className="total">
                  <th scope="row">Total</th>
                  <td>{formatMs(t.totalMs)}</td>
                </tr>
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
