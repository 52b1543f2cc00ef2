/**
 * The capability report: a one-line adapter summary in the header, a "GPU details" button opening a
 * modal <dialog> (adapter, CPU/fallback, shader-f16, subgroups, key limits), and the help shown when
 * the browser has no usable WebGPU. Data comes from the worker's `capabilities()` (worker/api.ts).
 */
import { useId, useRef } from 'react';
import type { AdapterCapabilities, Capabilities } from '../worker/api';
import { formatBytes } from './format';

/** Limits shown in the report, in this order; `bytes` ones are also shown in KiB/MiB/GiB. */
const KEY_LIMITS: readonly { name: string; bytes: boolean }[] = [
  { name: 'maxStorageBufferBindingSize', bytes: true },
  { name: 'maxBufferSize', bytes: true },
  { name: 'maxComputeWorkgroupStorageSize', bytes: true },
  { name: 'maxComputeInvocationsPerWorkgroup', bytes: false },
  { name: 'maxComputeWorkgroupSizeX', bytes: false },
  { name: 'maxStorageBuffersPerShaderStage', bytes: false },
];

/** "google · swiftshader" etc.; 'unknown adapter' when the browser hides every field. */
export function adapterName(a: AdapterCapabilities): string {
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unknown adapter';
}

function f16Text(a: AdapterCapabilities): string {
  if (a.features.includes('shader-f16')) return 'yes (enabled)';
  return a.adapterFeatures.includes('shader-f16') ? 'yes (not enabled)' : 'no: kernels compute in f32';
}

function subgroupsText(a: AdapterCapabilities): string {
  if (!a.adapterFeatures.includes('subgroups')) return 'no';
  const sizes = !a.subgroupSizes ? 'yes' : a.subgroupSizes.min === a.subgroupSizes.max ? `yes, size ${a.subgroupSizes.min}` : `yes, sizes ${a.subgroupSizes.min}–${a.subgroupSizes.max}`;
  // the reductions' subgroup variants also need WGSL's subgroup_id (src/gpu/shaderVariants.ts)
  return a.subgroupReductions ? `${sizes}; used by the reductions` : `${sizes}; not used (this browser's WGSL lacks subgroup_id)`;
}

function limitText(value: number | undefined, bytes: boolean): string {
  if (value === undefined) return 'not reported';
  return bytes ? `${formatBytes(value)} (${value.toLocaleString('en-US')})` : value.toLocaleString('en-US');
}

function Report({ adapter }: { adapter: AdapterCapabilities }) {
  const rows: [string, string, string][] = [
    ['Vendor', adapter.vendor || '—', 'vendor'],
    ['Architecture', adapter.architecture || '—', 'architecture'],
    ['Description', adapter.description || '—', 'description'],
    ['Kind', adapter.isCpu ? 'CPU (software rendering, no GPU)' : 'GPU', 'kind'],
    ['Fallback adapter', adapter.isFallbackAdapter ? 'yes' : 'no', 'fallback'],
    ['shader-f16', f16Text(adapter), 'f16'],
    ['Subgroups', subgroupsText(adapter), 'subgroups'],
  ];
  return (
    <>
      {adapter.isCpu ? (
        <p className="banner" data-testid="caps-cpu-warning">
          This is a CPU implementation of WebGPU (such as SwiftShader), not a GPU: generation works but is very
          slow. Enable hardware acceleration in the browser settings or update the GPU driver.
        </p>
      ) : null}
      <table className="caps-table">
        <caption>Adapter</caption>
        <tbody>
          {rows.map(([label, value, id]) => (
            <tr key={id}>
              <th scope="row">{label}</th>
              <td data-testid={`caps-${id}`}>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="caps-table">
        <caption>Device limits (requested at the adapter's maximum)</caption>
        <tbody>
          {KEY_LIMITS.map(({ name, bytes }) => (
            <tr key={name}>
              <th scope="row">
                <code>{name}</code>
              </th>
              <td data-testid={`caps-limit-${name}`}>{limitText(adapter.limits[name], bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">Adapter features: {adapter.adapterFeatures.join(', ') || 'none'}.</p>
    </>
  );
}

/** What to do without WebGPU: which browsers ship it, which flags enable it elsewhere. */
export function WebGpuHelp() {
  return (
    <div data-testid="webgpu-help">
      {!window.isSecureContext ? (
        <p>
          This page is not a secure context: WebGPU exists only on <code>https://</code> pages and on{' '}
          <code>localhost</code>. Open Kleinbild over HTTPS.
        </p>
      ) : null}
      <p>Kleinbild runs the model on your GPU through WebGPU. It works in:</p>
      <ul>
        <li>Chrome or Edge 113+ on Windows, macOS and ChromeOS; Chrome 121+ on Android 12+.</li>
        <li>
          Chrome on Linux, where WebGPU may still be off: enable <code>chrome://flags/#enable-unsafe-webgpu</code>{' '}
          and <code>chrome://flags/#enable-vulkan</code>, then restart the browser.
        </li>
        <li>Safari 26+ (macOS, iOS, iPadOS); older Safari: Develop → Feature Flags → WebGPU.</li>
        <li>
          Firefox 141+ on Windows; elsewhere set <code>dom.webgpu.enabled</code> to true in{' '}
          <code>about:config</code> (or use Firefox Nightly).
        </li>
      </ul>
      <p>
        If your browser is on this list, turn on hardware acceleration in its settings and update the GPU driver;
        in Chrome, <code>chrome://gpu</code> shows whether WebGPU is enabled or why it is blocked.
      </p>
    </div>
  );
}

/** Header part of the report: the adapter line and the "GPU details" button with its dialog. */
export function CapabilityReport({ caps }: { caps: Capabilities | null }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  const adapter = caps?.adapter ?? null;
  return (
    <div className="caps">
      {adapter ? (
        <p className="muted adapter" data-testid="adapter">
          GPU: {adapterName(adapter)}
          {adapter.isCpu ? ' (CPU)' : ''}
        </p>
      ) : null}
      <button type="button" className="small" onClick={() => dialog.current?.showModal()} disabled={caps === null}
        data-testid="caps-button">
        GPU details
      </button>
      <dialog ref={dialog} className="caps-dialog" aria-labelledby={`${id}-h`} data-testid="caps-dialog">
        <h2 id={`${id}-h`}>WebGPU capabilities</h2>
        {adapter ? <Report adapter={adapter} /> : null}
        {caps?.error ? (
          <p data-testid="caps-error">
            {caps.error} The message at the top of the page says which browsers and settings enable WebGPU.
          </p>
        ) : null}
        <form method="dialog">
          <button type="submit" data-testid="caps-close">
            Close
          </button>
        </form>
      </dialog>
    </div>
  );
}
