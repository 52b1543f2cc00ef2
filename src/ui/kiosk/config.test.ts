import { describe, expect, it } from 'vitest';
import type { StoredModel } from '../../worker/api';
import { DEFAULT_KIOSK_CONFIG, STORED_MODEL, loadKioskConfig, parseKioskConfig, pickStoredModel, resolveConfigUrl } from './config';
import { parsePinHash } from './pin';

/** A well-formed pin value (salt 1…16, hash bytes all 7; it is never derived here). */
const PIN = `pbkdf2-sha256$600000$AQIDBAUGBwgJCgsMDQ4PEA==$${Buffer.alloc(32, 7).toString('base64')}`;

function errorsOf(raw: unknown): string[] {
  const r = parseKioskConfig(raw);
  return r.ok ? [] : r.errors;
}

describe('parseKioskConfig', () => {
  it('fills every missing key from the defaults', () => {
    expect(parseKioskConfig({})).toEqual({ ok: true, config: DEFAULT_KIOSK_CONFIG });
    expect(DEFAULT_KIOSK_CONFIG.model).toBe(STORED_MODEL); // a kiosk never downloads by default
    const r = parseKioskConfig({ $comment: 'ignored', width: 64, height: 128, model: 'http://127.0.0.1:4180/model-a', pin: PIN });
    expect(r.ok && r.config).toMatchObject({ width: 64, height: 128, steps: 4, model: 'http://127.0.0.1:4180/model-a', pin: parsePinHash(PIN) });
    expect(r.ok && r.config.pin?.iterations).toBe(600_000);
    expect(parseKioskConfig({ pin: null })).toEqual({ ok: true, config: DEFAULT_KIOSK_CONFIG });
  });

  it('accepts "stored", store:<id>, hub ids and URLs as the model', () => {
    for (const model of ['stored', 'store:klein-q4-1a2b3c4d', 'owner/name@main', 'https://example.org/m']) {
      expect(parseKioskConfig({ model })).toMatchObject({ ok: true, config: { model } });
    }
    expect(errorsOf({ model: 'store:' })).toEqual([expect.stringMatching(/^model must be "stored", store:<id>, a hub repo id/)]);
  });

  it('reports every problem with its key and value', () => {
    const errors = errorsOf({
      width: 70,
      height: '64',
      steps: 9,
      idleResetSeconds: 0,
      maxQueued: 2.5,
      suggestions: ['ok', ''],
      blockedWords: 'nope',
      model: '../models/a',
      pin: '1234',
      idleResetSecond: 30,
    });
    expect(errors).toHaveLength(10);
    expect(errors).toEqual(
      expect.arrayContaining([
        'width: Width must be a multiple of 16 between 64 and 2048 (got 70).',
        'height: must be a number (got "64").',
        expect.stringMatching(/^steps: Steps must be a whole number from 1 to 8/),
        'idleResetSeconds must be a number of seconds from 1 to 86400 (got 0).',
        'maxQueued must be a whole number from 0 to 100 (got 2.5).',
        'suggestions[1] must be a non-empty string (got "").',
        'blockedWords must be an array of strings (got "nope").',
        expect.stringMatching(/^model must be "stored", store:<id>, a hub repo id .* \(got "\.\.\/models\/a"\)\.$/),
        'pin must look like pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>, as printed by `npm run kiosk-pin -- <PIN>` (got "1234").',
        expect.stringMatching(/^Unknown key "idleResetSecond"; the known keys are title, model, /),
      ]),
    );
  });

  it('refuses a weak or malformed pin, naming the field', () => {
    expect(errorsOf({ pin: 1234 })).toEqual(['pin must be null or a string made by `npm run kiosk-pin -- <PIN>` (got 1234).']);
    expect(errorsOf({ pin: PIN.replace('600000', '1000') })).toEqual([
      expect.stringMatching(/^pin has "1000" iterations; use 600000 to 10000000 \(make a new one with `npm run kiosk-pin -- <PIN>`\) \(got "pbkdf2-sha256\$1000\$/),
    ]);
    expect(errorsOf({ pin: PIN.slice(0, -4) })).toEqual([expect.stringMatching(/^pin needs a base64 hash of 32 bytes \(got 30 bytes\) \(got "pbkdf2-sha256/)]);
  });

  it('refuses the old unsalted pinSha256, saying how to make a new one', () => {
    const told = [
      'pinSha256 is no longer accepted: an unsalted SHA-256 of a PIN is reversed in under a second. ' +
        'Make a salted hash with `npm run kiosk-pin -- <PIN>` and put the printed "pin" line in its place (or write "pin": null for no PIN).',
    ];
    expect(errorsOf({ pinSha256: '03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4' })).toEqual(told);
    expect(errorsOf({ pinSha256: null })).toEqual(told);
    expect(errorsOf({ pinSha256: null, pin: PIN })).toEqual(told);
  });

  it('refuses a suggestion that a disguised-word check would refuse', () => {
    expect(errorsOf({ suggestions: ['a n u d e statue'], blockedWords: ['nude'] })).toEqual(['suggestions[0] contains a blocked word, so it could never be used.']);
  });

  it('refuses a non-object and inconsistent settings', () => {
    expect(errorsOf([1])).toEqual(['The kiosk configuration must be a JSON object (got an array).']);
    expect(errorsOf(null)).toEqual(['The kiosk configuration must be a JSON object (got null).']);
    expect(errorsOf({ suggestions: ['A cute Dog'], blockedWords: ['dog'] })).toEqual([
      'suggestions[0] contains a blocked word, so it could never be used.',
    ]);
    expect(errorsOf({ suggestions: ['a long idea'], maxPromptLength: 5 })).toEqual([
      'suggestions[0] is 11 characters long; maxPromptLength is 5.',
    ]);
    expect(errorsOf({ maxQueued: 1, maxQueuedPerVisitor: 3 })).toEqual([
      'maxQueuedPerVisitor (3) cannot exceed maxQueued + 1 (2: the waiting ones plus the running one).',
    ]);
  });
});

describe('resolveConfigUrl', () => {
  const page = 'http://127.0.0.1:4173/app/?kiosk=1';
  it('accepts same-origin paths and defaults to kiosk.json at the base URL', () => {
    expect(resolveConfigUrl(null, page)).toEqual({ url: new URL('http://127.0.0.1:4173/kiosk.json') });
    expect(resolveConfigUrl('/e2e/kiosk.json', page)).toEqual({ url: new URL('http://127.0.0.1:4173/e2e/kiosk.json') });
    expect(resolveConfigUrl('other.json', page)).toEqual({ url: new URL('http://127.0.0.1:4173/app/other.json') });
  });
  it('refuses other origins', () => {
    expect(resolveConfigUrl('https://evil.example/kiosk.json', page)).toEqual({
      error: 'config="https://evil.example/kiosk.json" must be a path on this site (http://127.0.0.1:4173), not https://evil.example.',
    });
    expect('error' in resolveConfigUrl('//evil.example/k.json', page)).toBe(true);
  });
});

describe('loadKioskConfig', () => {
  const url = new URL('http://127.0.0.1/kiosk.json');
  const serve = (body: string, status = 200): typeof fetch => async () => new Response(body, { status, statusText: status === 200 ? 'OK' : 'Not Found' });

  it('turns HTTP, network and JSON failures into errors', async () => {
    expect(await loadKioskConfig(url, serve('', 404))).toEqual({ ok: false, errors: ['Could not read /kiosk.json: HTTP 404 Not Found'] });
    const down: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    expect(await loadKioskConfig(url, down)).toEqual({ ok: false, errors: ['Could not read /kiosk.json: Failed to fetch'] });
    const bad = await loadKioskConfig(url, serve('{"width": 64,}'));
    expect(bad.ok === false && bad.errors[0]).toMatch(/^\/kiosk\.json is not valid JSON: /);
    expect(await loadKioskConfig(url, serve('{"steps": 2}'))).toEqual({ ok: true, config: { ...DEFAULT_KIOSK_CONFIG, steps: 2 } });
  });

  it('the committed public/kiosk.json is valid', async () => {
    const { readFile } = await import('node:fs/promises');
    const body = await readFile(new URL('../../../public/kiosk.json', import.meta.url), 'utf8');
    const r = await loadKioskConfig(url, serve(body));
    expect(r).toMatchObject({ ok: true, config: { model: STORED_MODEL, safety: { model: 'AdamCodd/vit-base-nsfw-detector', flaggedLabels: ['nsfw'], action: 'block' } } });
  });
});

describe('parseKioskConfig: safety', () => {
  it('takes a safety object, null, and names what is wrong', () => {
    const safety = { model: 'http://127.0.0.1:4180/safety-classifier', flaggedLabels: ['nsfw'], threshold: 0.5, action: 'blur' };
    expect(parseKioskConfig({ safety })).toMatchObject({ ok: true, config: { safety } });
    expect(parseKioskConfig({ safety: null })).toMatchObject({ ok: true, config: { safety: null } });
    expect(parseKioskConfig({})).toMatchObject({ ok: true, config: { safety: null } });
    expect(parseKioskConfig({ safety: { ...safety, threshold: 2 } })).toEqual({
      ok: false,
      errors: ['safety: safety threshold must be a number from 0 to 1 (a softmax score), got 2.'],
    });
    expect(parseKioskConfig({ safety: { ...safety, labels: ['x'] } })).toEqual({
      ok: false,
      errors: ['safety: unknown key(s) labels; the known keys are model, flaggedLabels, threshold, action, dtype, device.'],
    });
    expect(parseKioskConfig({ safety: { ...safety, device: 'wasm' } })).toMatchObject({ ok: true, config: { safety: { device: 'wasm' } } });
    expect(parseKioskConfig({ safety: { ...safety, device: 'cpu' } })).toEqual({ ok: false, errors: ['safety: safety device cpu: use auto, webgpu, wasm.'] });
    expect(parseKioskConfig({ safety: 'on' })).toEqual({ ok: false, errors: ['safety must be null or an object { model, flaggedLabels, threshold, action } (got "on").'] });
  });
});

describe('pickStoredModel', () => {
  const model = (id: string, complete: boolean): StoredModel =>
    ({ id, name: id, source: 'hub', recipe: { name: id, quant: 'q4', base: 'o/n' }, quant: 'q4', totalBytes: 1, storedBytes: complete ? 1 : 0, deferredBytes: 0, complete, busy: false });
  it('takes the first complete model; none when every one is partial', () => {
    expect(pickStoredModel([model('a', false), model('b', true), model('c', true)])?.id).toBe('b');
    expect(pickStoredModel([model('a', false)])).toBeNull();
    expect(pickStoredModel([])).toBeNull();
  });
});
