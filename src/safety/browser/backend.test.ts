/** backend.ts: where the browser classifier runs for each `device` setting, and when WebGPU falls back to WASM. */
import { describe, expect, it } from 'vitest';
import { chooseBackend, fallbackAfter } from './backend';

describe('chooseBackend', () => {
  it('auto takes WebGPU when an adapter is offered, else WASM with the reason', () => {
    expect(chooseBackend('auto', null)).toEqual({ device: 'webgpu' });
    expect(chooseBackend('auto', 'no WebGPU adapter')).toEqual({ device: 'wasm', fallback: 'no WebGPU adapter' });
  });
  it('webgpu fails without an adapter; wasm never asks', () => {
    expect(chooseBackend('webgpu', null)).toEqual({ device: 'webgpu' });
    expect(() => chooseBackend('webgpu', 'this browser offers no WebGPU in workers')).toThrow(
      'safety checker on WebGPU: this browser offers no WebGPU in workers (choose auto or WASM)',
    );
    expect(chooseBackend('wasm', null)).toEqual({ device: 'wasm' });
    expect(chooseBackend('wasm', 'no WebGPU adapter')).toEqual({ device: 'wasm' });
  });
});

describe('fallbackAfter', () => {
  const err = new Error('no kernel for MatMulInteger');
  it('auto retries a failed WebGPU load on WASM, naming the error', () => {
    expect(fallbackAfter('auto', 'webgpu', err, true)).toEqual({ device: 'wasm', fallback: 'WebGPU failed: no kernel for MatMulInteger' });
  });
  it('does not retry an explicit WebGPU, a failed WASM load, or a file that could not be fetched', () => {
    expect(fallbackAfter('webgpu', 'webgpu', err, true)).toBeNull();
    expect(fallbackAfter('auto', 'wasm', err, true)).toBeNull();
    expect(fallbackAfter('wasm', 'wasm', err, true)).toBeNull();
    expect(fallbackAfter('auto', 'webgpu', new Error('Could not locate file: "…/config.json".'), false)).toBeNull();
  });
});
