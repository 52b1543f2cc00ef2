import { execFileSync } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { derivePinHash, equalBytes, formatPinHash, parsePinHash, PIN_HASH_BYTES, PIN_ITERATIONS, type PinHash, pinMatches } from './pin';

const SALT = new Uint8Array(16).map((_, i) => i + 1);
/** The hash of PIN 2468 with SALT, by Node's own PBKDF2 (an independent implementation). */
function nodeHash(pin: string, salt: Uint8Array, iterations = PIN_ITERATIONS): PinHash {
  return { iterations, salt: new Uint8Array(salt), hash: new Uint8Array(pbkdf2Sync(pin, salt, iterations, PIN_HASH_BYTES, 'sha256')) };
}

describe('PIN hash', () => {
  it('derives what Node\'s pbkdf2Sync derives, and matches only the right PIN', async () => {
    const stored = nodeHash('2468', SALT);
    expect(Array.from(await derivePinHash('2468', stored.salt, PIN_ITERATIONS))).toEqual(Array.from(stored.hash));
    expect(await pinMatches('2468', stored)).toBe(true);
    expect(await pinMatches(' 2468\n', stored)).toBe(true); // trimmed, like the script refuses spaces
    expect(await pinMatches('2469', stored)).toBe(false);
    expect(await pinMatches('', stored)).toBe(false);
    // Another salt, same PIN: another hash (no precomputed table works for every kiosk).
    expect(equalBytes(nodeHash('2468', SALT.map((b) => b + 1)).hash, stored.hash)).toBe(false);
  });

  it('round-trips through its string form', () => {
    const stored = nodeHash('2468', SALT);
    const text = formatPinHash(stored);
    expect(text).toBe(`pbkdf2-sha256$600000$AQIDBAUGBwgJCgsMDQ4PEA==$${Buffer.from(stored.hash).toString('base64')}`);
    expect(parsePinHash(text)).toEqual(stored);
    expect(parsePinHash(`  ${text}\n`)).toEqual(stored);
  });

  it('refuses malformed, weak or oversized forms with a reason', () => {
    const hash = Buffer.alloc(32, 7).toString('base64');
    const salt = 'AQIDBAUGBwgJCgsMDQ4PEA==';
    const error = (text: string) => {
      const r = parsePinHash(text);
      return 'error' in r ? r.error : null;
    };
    expect(error('03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4')).toMatch(/^must look like pbkdf2-sha256\$<iterations>\$<salt base64>\$<hash base64>, as printed by `npm run kiosk-pin -- <PIN>`$/);
    expect(error(`pbkdf2-sha1$600000$${salt}$${hash}`)).toMatch(/^must look like/);
    expect(error(`pbkdf2-sha256$600000$${salt}$${hash}$x`)).toMatch(/^must look like/);
    expect(error(`pbkdf2-sha256$1000$${salt}$${hash}`)).toBe('has "1000" iterations; use 600000 to 10000000 (make a new one with `npm run kiosk-pin -- <PIN>`)');
    expect(error(`pbkdf2-sha256$599999$${salt}$${hash}`)).toMatch(/^has "599999" iterations/);
    expect(error(`pbkdf2-sha256$10000001$${salt}$${hash}`)).toMatch(/^has "10000001" iterations/);
    expect(error(`pbkdf2-sha256$6e5$${salt}$${hash}`)).toMatch(/^has "6e5" iterations/);
    expect(error(`pbkdf2-sha256$600000$AQIDBAUGBwgJCgsM$${hash}`)).toBe('needs a base64 salt of 16 to 64 bytes (got 12 bytes)');
    expect(error(`pbkdf2-sha256$600000$not*base64!$${hash}`)).toBe('needs a base64 salt of 16 to 64 bytes (got no valid base64)');
    expect(error(`pbkdf2-sha256$600000$${salt}$`)).toBe('needs a base64 hash of 32 bytes (got no valid base64)');
    expect(error(`pbkdf2-sha256$600000$${salt}$${Buffer.alloc(31).toString('base64')}`)).toBe('needs a base64 hash of 32 bytes (got 31 bytes)');
    expect(error(`pbkdf2-sha256$10000000$${salt}$${hash}`)).toBeNull();
  });

  it('compares every byte', () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    expect(equalBytes(a, new Uint8Array([1, 2, 3, 4]))).toBe(true);
    expect(equalBytes(a, new Uint8Array([1, 2, 3, 5]))).toBe(false); // differs in the last byte only
    expect(equalBytes(a, new Uint8Array([0, 2, 3, 4]))).toBe(false);
    expect(equalBytes(a, new Uint8Array([1, 2, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe('npm run kiosk-pin (scripts/kiosk-pin.mjs)', () => {
  const script = fileURLToPath(new URL('../../../scripts/kiosk-pin.mjs', import.meta.url));
  const run = (args: string[], input?: string) => execFileSync(process.execPath, [script, ...args], { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });

  it('prints a "pin" line the kiosk accepts, with a fresh salt each time', async () => {
    const line = run(['2468']).trim();
    const m = /^"pin": ("[^"]+")$/.exec(line);
    expect(m, line).not.toBeNull();
    const parsed = parsePinHash(JSON.parse(m?.[1] ?? '""') as string);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.iterations).toBe(PIN_ITERATIONS);
    expect(parsed.salt).toHaveLength(16);
    expect(await pinMatches('2468', parsed)).toBe(true);
    expect(await pinMatches('2460', parsed)).toBe(false);
    expect(JSON.parse(`{${run(['2468'])}}`).pin).not.toBe(JSON.parse(`{${line}}`).pin);
    // From stdin, without the line break.
    const piped = parsePinHash(JSON.parse(`{${run([], '13579\n')}}`).pin as string);
    if ('error' in piped) throw new Error(piped.error);
    expect(await pinMatches('13579', piped)).toBe(true);
  });

  it('refuses an empty PIN or one with surrounding spaces', () => {
    expect(() => run([''])).toThrow(/the PIN is empty/);
    expect(() => run([' 12'])).toThrow(/starts or ends with a space/);
    expect(() => run(['1', '2'])).toThrow(/exactly one PIN/);
  });
});
