// Makes the kiosk PIN hash for kiosk.json: PBKDF2-HMAC-SHA-256 with a random salt, written as
// pbkdf2-sha256$<iterations>$<salt base64>$<hash base64> (the format src/ui/kiosk/pin.ts reads;
// keep the constants below in step with it). Prints the "pin" line to paste into kiosk.json on
// stdout, advice on stderr.
// Usage: npm run kiosk-pin -- 1234
//        printf %s 1234 | npm run kiosk-pin      (keeps the PIN out of the shell history)
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256; also the fewest the kiosk accepts (pin.ts PIN_ITERATIONS). */
const ITERATIONS = 600_000;
/** Random salt, in bytes (128 bits; pin.ts PIN_SALT_BYTES). */
const SALT_BYTES = 16;
/** Derived hash, in bytes: SHA-256's output size (pin.ts PIN_HASH_BYTES). */
const HASH_BYTES = 32;
/** Below this many characters the advice warns that the public hash can be searched quickly. */
const SHORT_PIN = 8;

function fail(message) {
  console.error(`kiosk-pin: ${message}`);
  console.error('usage: npm run kiosk-pin -- <PIN>   or   printf %s <PIN> | npm run kiosk-pin');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length > 1 || args[0] === '--help' || args[0] === '-h') fail('give exactly one PIN');
// From the argument, or else stdin without its line break.
const raw = args.length === 1 ? args[0] : process.stdin.isTTY ? fail('give a PIN') : readFileSync(0, 'utf8').replace(/\r?\n$/, '');
if (raw.trim() === '') fail('the PIN is empty');
if (raw !== raw.trim()) fail('the PIN starts or ends with a space; the kiosk trims what is typed, so it could never match');
const pin = raw.normalize('NFC'); // as pin.ts pinBytes: trimmed (checked above), NFC, UTF-8

const salt = randomBytes(SALT_BYTES);
const hash = pbkdf2Sync(Buffer.from(pin, 'utf8'), salt, ITERATIONS, HASH_BYTES, 'sha256');
const value = ['pbkdf2-sha256', ITERATIONS, salt.toString('base64'), hash.toString('base64')].join('$');

console.log(`"pin": ${JSON.stringify(value)}`);
console.error('Put the line above into kiosk.json (replacing any "pin" or "pinSha256" line).');
if (!/^\d+$/.test(pin)) console.error('note: the kiosk keypad has digits only; other characters need a keyboard.');
if ([...pin].length < SHORT_PIN) {
  console.error(
    `note: kiosk.json is public, and a PIN of ${[...pin].length} characters can be found from this hash by trying ` +
      'them all (a 6-digit one in about a minute on one fast GPU). Use 8 or more digits, or do not serve kiosk.json publicly.',
  );
}
