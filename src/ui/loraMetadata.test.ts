/** LoRAs in what the app writes: the PNG's `loras` chunk and parameters line, history entries; hub and URL names. */
import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { entryFromOutput, outputPng } from './history/save';
import { pngText, type PngMetadata } from './png';
import type { Output } from './useGenerator';
import { fileNameOf, hubLoraUrl } from './useLoras';

const META: PngMetadata = { prompt: 'a cat', seed: 7, width: 2, height: 1, steps: 4, model: 'owner/model' };

function output(loras?: { name: string; strength: number }[]): Output {
  const rgba = Uint8ClampedArray.from([255, 0, 0, 255, 0, 128, 255, 255]);
  const timings = { encodeMs: 1, stepMs: [1], decodeMs: 1, totalMs: 3 };
  const req = { prompt: 'a cat', width: 2, height: 1, steps: 4, seed: 7, ...(loras ? { loras } : {}) };
  return { id: 1, model: 'owner/model', req, result: { width: 2, height: 1, seed: 7, rgba, timings } } as unknown as Output;
}

describe('LoRAs in PNG metadata and history', () => {
  it('PNG: a JSON `loras` chunk and the LoRAs at the end of `parameters`', async () => {
    const loras = [{ name: 'lora0.safetensors', strength: 1 }, { name: 'style, v2:final.safetensors', strength: -0.35 }];
    const text = pngText({ ...META, loras });
    expect(JSON.parse(text.loras as string)).toEqual(loras);
    expect(text.parameters).toBe('a cat\nSteps: 4, Seed: 7, Size: 2x1, Model: owner/model, LoRAs: lora0.safetensors:1, style, v2:final.safetensors:-0.35');
    const png = decode(new Uint8Array(await outputPng(output(loras)).arrayBuffer()), { checkCrc: true });
    expect(JSON.parse(png.text.loras as string)).toEqual(loras);
    expect(png.text.parameters).toContain('LoRAs: lora0.safetensors:1');
  });

  it('without LoRAs (or an empty list) nothing is added, as before', async () => {
    for (const m of [META, { ...META, loras: [] }]) {
      const text = pngText(m);
      expect(text.loras).toBeUndefined();
      expect(text.parameters).toBe('a cat\nSteps: 4, Seed: 7, Size: 2x1, Model: owner/model');
    }
    expect(decode(new Uint8Array(await outputPng(output()).arrayBuffer())).text.loras).toBeUndefined();
  });

  it('history entries carry the LoRAs by name and strength, and none when unused', () => {
    expect(entryFromOutput(output([{ name: 'a.safetensors', strength: 0.8 }])).loras).toEqual([{ name: 'a.safetensors', strength: 0.8 }]);
    expect('loras' in entryFromOutput(output())).toBe(false);
    expect('loras' in entryFromOutput(output([]))).toBe(false);
  });
});

describe('LoRA sources', () => {
  it('a hub repo id and file resolve to the hub\'s resolve/main URL', () => {
    expect(hubLoraUrl(' owner/name ', 'loras/my lora.safetensors')).toBe('https://huggingface.co/owner/name/resolve/main/loras/my%20lora.safetensors');
    expect(() => hubLoraUrl('just-a-name', 'x.safetensors')).toThrow('is not a hub repo id: use owner/name');
    expect(() => hubLoraUrl('a/b', '../x.safetensors')).toThrow('is not a file name in the repo');
    expect(() => hubLoraUrl('a/b', ' ')).toThrow('is not a file name in the repo');
  });

  it('a URL names the LoRA by its file name', () => {
    expect(fileNameOf('https://h.example/a/b/my%20lora.safetensors?token=x')).toBe('my lora.safetensors');
    expect(fileNameOf('https://h.example/')).toBe('lora.safetensors');
    expect(fileNameOf('not a url')).toBe('lora.safetensors');
  });
});
