/** Output panel: the RGBA result drawn into a canvas, a Download PNG button and per-stage timings. */
import { useEffect, useRef } from 'react';
import type { GenerateResult } from '../worker/api';
import { formatMs } from './format';

export interface ImageViewProps {
  result: GenerateResult | null;
  /** Adds the shown image to the reference panel. */
  onUseAsReference(result: GenerateResult): void;
}

function downloadPng(canvas: HTMLCanvasElement, fileName: string): void {
  canvas.toBlob((blob) => {
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    document.body.append(a);
    a.click();
    a.remove();
    // The download has started from the object URL; release it once the click has been handled.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, 'image/png');
}

export function ImageView({ result, onUseAsReference }: ImageViewProps) {
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !result) return;
    c.width = result.width;
    c.height = result.height;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    // Fresh array over the same bytes: ImageData requires an ArrayBuffer-backed Uint8ClampedArray.
    const pixels = new Uint8ClampedArray(result.rgba);
    ctx.putImageData(new ImageData(pixels, result.width, result.height), 0, 0);
    c.dataset.rendered = `${result.width}x${result.height}:${result.seed}`;
  }, [result]);

  const t = result?.timings;
  return (
    <section className="panel output" aria-labelledby="output-heading">
      <h2 id="output-heading">Image</h2>
      <div className="canvas-frame">
        <canvas
          ref={canvas}
          data-testid="output-canvas"
          hidden={!result}
          role="img"
          aria-label={result ? `Generated image, ${result.width}×${result.height}, seed ${result.seed}` : 'No image yet'}
        />
        {!result ? <p className="muted">No image yet.</p> : null}
      </div>
      {result ? (
        <>
          <div className="row">
            <button type="button" onClick={() => canvas.current && downloadPng(canvas.current, `kleinbild-${result.seed}.png`)}
              data-testid="download-button">
              Download PNG
            </button>
            <button type="button" onClick={() => onUseAsReference(result)} data-testid="use-as-reference">
              Use as reference
            </button>
            <span className="muted">
              {result.width}×{result.height} · seed {result.seed}
            </span>
          </div>
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
