/**
 * Text folding for the blocked-word matcher (blocklist.ts): the forms in which a prompt is compared
 * with the word list, so that look-alike spellings compare equal. Folding is for matching only; the
 * prompt sent to the model is never changed.
 *
 * foldText(s), in this order:
 *  1. NFKC: full-width letters, ligatures, mathematical and circled letters become plain ones
 *     ("ｎｕｄｅ", "𝐧𝐮𝐝𝐞", "ⓝ" → "nude", "n").
 *  2. Invisible characters are removed: every Unicode Default_Ignorable_Code_Point, which includes
 *     the zero-width space, non-joiner and joiner (U+200B–U+200D), the word joiner (U+2060), the
 *     byte-order mark (U+FEFF), the soft hyphen (U+00AD) and the variation selectors.
 *  3. Accents and other combining marks on Latin, Greek and Cyrillic letters are removed
 *     ("nüde", "n̈ude" → "nude"). Marks in other scripts are kept: there they are vowels, not accents.
 *  4. Look-alike letters from Cyrillic, Greek and the Latin small capitals become the Latin letter
 *     they imitate (CONFUSABLES: Cyrillic "е" → "e", Greek "ο" → "o", "ɴ" → "n"), then lower case.
 *  5. In every word that contains a letter, leetspeak characters become letters (LEET: 0→o 1→i 3→e
 *     4→a 5→s 7→t @→a $→s, so "p0rn", "a$$" → "porn", "ass"). Words of digits only ("455", "1984")
 *     are left alone, so numbers never turn into words.
 */

/** Characters of a word for tokenising: letters, marks, digits and the leetspeak symbols @ and $. */
const TOKEN = /[\p{L}\p{M}\p{N}@$]+/gu;
/** Invisible characters (step 2). The listed ones are in the property already; named for the reader. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u200B-\u200D\u2060\uFEFF\u00AD]/gu;
/** A letter of the scripts whose combining marks are accents (step 3), followed by its marks. */
const ACCENTED = /([\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}])\p{M}+/gu;
const LETTER = /\p{L}/u;

/**
 * Look-alikes → the Latin letter they imitate, keyed by the exact character, so the upper and lower
 * case of one letter can differ (Greek "Η" looks like H, "η" like n). Applied before lower-casing.
 */
const CONFUSABLES: Readonly<Record<string, string>> = Object.freeze({
  // Cyrillic capitals, then small letters (several small ones are small-capital shapes: в н т м к).
  А: 'a', В: 'b', Е: 'e', К: 'k', М: 'm', Н: 'h', О: 'o', Р: 'p', С: 'c', Т: 't', У: 'y', Х: 'x',
  Ѕ: 's', І: 'i', Ј: 'j', Һ: 'h', Ԁ: 'd', Ԛ: 'q', Ԝ: 'w', Ү: 'y', Ӏ: 'i',
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', п: 'n', р: 'p', с: 'c', т: 't', у: 'y',
  х: 'x', ѕ: 's', і: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ү: 'y', ӏ: 'l',
  // Greek capitals, then small letters.
  Α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'i', Κ: 'k', Μ: 'm', Ν: 'n', Ο: 'o', Ρ: 'p', Τ: 't',
  Υ: 'y', Χ: 'x',
  α: 'a', β: 'b', γ: 'y', ε: 'e', η: 'n', ι: 'i', κ: 'k', μ: 'u', ν: 'v', ο: 'o', ρ: 'p', τ: 't',
  υ: 'u', χ: 'x', ω: 'w',
  // Latin small capitals and other Latin look-alikes that NFKC leaves alone.
  ᴀ: 'a', ʙ: 'b', ᴄ: 'c', ᴅ: 'd', ᴇ: 'e', ɢ: 'g', ʜ: 'h', ɪ: 'i', ᴊ: 'j', ᴋ: 'k', ʟ: 'l', ᴍ: 'm',
  ɴ: 'n', ᴏ: 'o', ᴘ: 'p', ʀ: 'r', ꜱ: 's', ᴛ: 't', ᴜ: 'u', ᴠ: 'v', ᴡ: 'w', ʏ: 'y', ᴢ: 'z',
  ı: 'i', ɑ: 'a', ɡ: 'g', ɩ: 'i',
});
const CONFUSABLE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'gu');

/** Leetspeak characters → letters (step 5); only inside a word that has a letter. */
const LEET: Readonly<Record<string, string>> = Object.freeze({ 0: 'o', 1: 'i', 3: 'e', 4: 'a', 5: 's', 7: 't', '@': 'a', $: 's' });
const LEET_CHAR = /[013457@$]/g;

/** Steps 1–4 of foldText: everything but leetspeak, which needs word boundaries. */
export function foldLetters(s: string): string {
  return s
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .normalize('NFD')
    .replace(ACCENTED, '$1')
    .normalize('NFC')
    .replace(CONFUSABLE, (c) => CONFUSABLES[c] ?? c)
    .toLowerCase();
}

/** Step 5 for one word: leetspeak characters become letters when the word has a letter. */
export function foldLeet(word: string): string {
  return LETTER.test(word) ? word.replace(LEET_CHAR, (c) => LEET[c] ?? c) : word;
}

/** Step 5 for every word of `letters` (foldLetters' output). */
export function foldWords(letters: string): string {
  return letters.replace(TOKEN, foldLeet);
}

/** The whole fold (steps 1–5 above) of a prompt or a word-list entry. */
export function foldText(s: string): string {
  return foldWords(foldLetters(s));
}

/** A word of a folded text and where it starts, in UTF-16 code units. */
interface Token {
  text: string;
  start: number;
}

function tokens(s: string): Token[] {
  return Array.from(s.matchAll(TOKEN), (m) => ({ text: m[0], start: m.index }));
}

/**
 * Fewest single characters in a row that are read as one spelled-out word (see joinSpelled). Two
 * in a row are ordinary ("plan a b", initials "J. R."); three or more rarely are, and a blocked
 * word shorter than three letters is rare.
 */
export const SPELLED_MIN = 3;

/** A single character that may be part of a spelled-out word: a letter, a digit, @ or $. */
const isSingle = (t: Token): boolean => Array.from(t.text).length === 1;

/**
 * English words of one letter. Next to a spelled-out word they are read as words of their own:
 * "a n u d e" is "a" and "n u d e" as much as it is "anude".
 */
const ONE_LETTER_WORDS: ReadonlySet<string> = new Set(['a', 'i']);

/**
 * The ways to read one run of single characters (already leetspeak-folded) as a word: all of it,
 * and, when it starts or ends with a ONE_LETTER_WORDS letter, the rest (if still SPELLED_MIN long).
 */
function readings(word: string): string[] {
  const chars = Array.from(word);
  const trimStart = ONE_LETTER_WORDS.has(chars[0] ?? '') ? 1 : 0;
  const trimEnd = ONE_LETTER_WORDS.has(chars[chars.length - 1] ?? '') ? 1 : 0;
  const out = new Set([word]);
  for (const [a, b] of [[trimStart, 0], [0, trimEnd], [trimStart, trimEnd]] as const) {
    if (chars.length - a - b >= SPELLED_MIN) out.add(chars.slice(a, chars.length - b).join(''));
  }
  return [...out];
}

/**
 * The text with every spelled-out word joined: a run of SPELLED_MIN or more single letters (or
 * leetspeak characters, with at least one letter among them) separated by spaces or punctuation,
 * such as "n u d e", "n.u.d.e", "n-u-d-e" or "n_u_d_e", becomes one word ("nude"). Shorter runs
 * stay apart, so "a b" and "plan a" keep their single-letter words. `joined` lists each run's
 * readings: the whole run, and the run without a leading or trailing "a" or "i" ("a n u d e" →
 * "anude", "nude"). `letters` must be foldLetters' output; the text has leetspeak folded like
 * foldText's.
 */
export function joinSpelled(letters: string): { text: string; joined: string[] } {
  const words = tokens(letters);
  let text = '';
  let at = 0;
  const joined: string[] = [];
  for (let i = 0; i < words.length; ) {
    let j = i;
    while (j < words.length && isSingle(words[j] as Token)) j++;
    const run = words.slice(i, j);
    const first = words[i] as Token;
    if (run.length >= SPELLED_MIN && run.some((t) => LETTER.test(t.text))) {
      const word = foldLeet(run.map((t) => t.text).join(''));
      joined.push(...readings(word));
      const last = run[run.length - 1] as Token;
      text += letters.slice(at, first.start) + word;
      at = last.start + last.text.length;
      i = j;
    } else {
      text += letters.slice(at, first.start) + foldLeet(first.text);
      at = first.start + first.text.length;
      i++;
    }
  }
  return { text: text + letters.slice(at), joined };
}

/**
 * The text with punctuation inside each whitespace-separated chunk removed, then leetspeak folded:
 * "nu.de", "nu-de", "n*u*de" → "nude", while "hot dog" keeps its space. `letters` must be
 * foldLetters' output.
 */
export function dropInnerPunctuation(letters: string): string {
  return letters.replace(/\S+/gu, (chunk) => foldLeet(Array.from(chunk.matchAll(TOKEN), (m) => m[0]).join('')));
}
