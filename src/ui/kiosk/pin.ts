/**
 * The kiosk PIN's stored form and its check. kiosk.json is served to every browser that asks, so
 * it holds no PIN, only a salted, slow hash of it, written as one self-describing string:
 *
 *     pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>
 *
 * The hash is PBKDF2-HMAC-SHA-256 of the PIN's UTF-8 bytes (trimmed, NFC) with that salt and
 * iteration count, PIN_HASH_BYTES long. `npm run kiosk-pin -- <PIN>` (scripts/kiosk-pin.mjs) makes
 * one; the two must stay in step. The random salt makes every kiosk's hash different, so no table
 * computed in advance helps; the iterations make each guess cost as much as PIN_ITERATIONS hashes.
 * A short PIN can still be found from the public hash by trying them all (see README.md), which is
 * why the dialog also limits attempts (lockout.ts) and a longer PIN is worth it.
 */

/** The scheme name, the string's first field. */
export const PIN_SCHEME = 'pbkdf2-sha256';
/**
 * Iterations the kiosk-pin command uses, and the fewest accepted: OWASP's figure for
 * PBKDF2-HMAC-SHA256 (Password Storage Cheat Sheet, 2023). Fewer would make every guess against
 * the public hash cheaper than that guidance allows; one check takes about 0.1–0.5 s in a browser,
 * harmless for a PIN typed now and then.
 */
export const PIN_ITERATIONS = 600_000;
/** Most iterations accepted: beyond this one check would keep a slow kiosk busy for many seconds. */
export const PIN_ITERATIONS_MAX = 10_000_000;
/** Salt length the command uses and the fewest accepted, in bytes (128 bits, NIST SP 800-132). */
export const PIN_SALT_BYTES = 16;
/** Longest salt accepted, in bytes. */
export const PIN_SALT_BYTES_MAX = 64;
/** Derived hash length in bytes: SHA-256's output size (more would cost the kiosk, not an attacker). */
export const PIN_HASH_BYTES = 32;

/** A parsed PIN hash. */
export interface PinHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (text === '' || !BASE64.test(text)) return null;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Example shown in error messages. */
export const PIN_FORMAT = `${PIN_SCHEME}$<iterations>$<salt base64>$<hash base64>`;

/**
 * Parses `text` (PIN_FORMAT). Returns the hash, or an error sentence without the field name (the
 * caller adds it): wrong scheme, iterations outside PIN_ITERATIONS…PIN_ITERATIONS_MAX, salt not
 * base64 or shorter than PIN_SALT_BYTES (longer than PIN_SALT_BYTES_MAX), hash not base64 of
 * PIN_HASH_BYTES bytes.
 */
export function parsePinHash(text: string): PinHash | { error: string } {
  const parts = text.trim().split('$');
  if (parts.length !== 4 || parts[0] !== PIN_SCHEME) {
    return { error: `must look like ${PIN_FORMAT}, as printed by \`npm run kiosk-pin -- <PIN>\`` };
  }
  const [, iterText = '', saltText = '', hashText = ''] = parts;
  const iterations = /^\d{1,9}$/.test(iterText) ? Number(iterText) : NaN;
  if (!(iterations >= PIN_ITERATIONS && iterations <= PIN_ITERATIONS_MAX)) {
    return { error: `has ${JSON.stringify(iterText)} iterations; use ${PIN_ITERATIONS} to ${PIN_ITERATIONS_MAX} (make a new one with \`npm run kiosk-pin -- <PIN>\`)` };
  }
  const salt = fromBase64(saltText);
  if (salt === null || salt.length < PIN_SALT_BYTES || salt.length > PIN_SALT_BYTES_MAX) {
    return { error: `needs a base64 salt of ${PIN_SALT_BYTES} to ${PIN_SALT_BYTES_MAX} bytes (got ${salt === null ? 'no valid base64' : `${salt.length} bytes`})` };
  }
  const hash = fromBase64(hashText);
  if (hash === null || hash.length !== PIN_HASH_BYTES) {
    return { error: `needs a base64 hash of ${PIN_HASH_BYTES} bytes (got ${hash === null ? 'no valid base64' : `${hash.length} bytes`})` };
  }
  return { iterations, salt, hash };
}

/** The PIN_FORMAT string of `pin` (the inverse of parsePinHash). */
export function formatPinHash(pin: PinHash): string {
  return [PIN_SCHEME, pin.iterations, toBase64(pin.salt), toBase64(pin.hash)].join('$');
}

/** The bytes of a typed PIN that are hashed: trimmed (keypads and paste add spaces), NFC, UTF-8. */
export function pinBytes(pin: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(pin.trim().normalize('NFC'));
}

/**
 * PBKDF2-HMAC-SHA-256 of `pin` (see pinBytes), PIN_HASH_BYTES long. Takes about 0.1–0.5 s at
 * PIN_ITERATIONS. Throws when crypto.subtle is missing: browsers offer it only on https:// and
 * localhost pages.
 */
export async function derivePinHash(pin: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!globalThis.crypto?.subtle) {
    throw new Error('Checking the PIN needs crypto.subtle, which browsers offer only on https:// or localhost pages.');
  }
  const key = await crypto.subtle.importKey('raw', pinBytes(pin), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, PIN_HASH_BYTES * 8);
  return new Uint8Array(bits);
}

/**
 * Whether `a` and `b` hold the same bytes, in a time that depends only on their lengths (every byte
 * is compared, no early exit), so the check's duration says nothing about how close a guess came.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Whether `pin` derives `stored.hash`. Throws like derivePinHash. */
export async function pinMatches(pin: string, stored: PinHash): Promise<boolean> {
  return equalBytes(await derivePinHash(pin, stored.salt, stored.iterations), stored.hash);
}
