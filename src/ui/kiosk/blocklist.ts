/**
 * The kiosk's refused-word list. A prompt is refused when it contains a listed word or phrase as a
 * whole word: case-insensitive (Unicode), after NFKC normalisation (so full-width letters and
 * ligatures match their plain forms), bounded on both sides by a non-letter, non-digit character or
 * the text's edge. "art" therefore refuses "Art!" and "pop art" but not "party" or "artist".
 * Inflected forms are separate entries ("gun", "guns"). A phrase matches across any run of
 * whitespace ("hot dog" matches "hot   dog").
 */

/** Characters that belong to a word: letters, combining marks, digits, underscore. */
const WORD_CHAR = String.raw`[\p{L}\p{M}\p{N}_]`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function normalize(s: string): string {
  return s.normalize('NFKC');
}

/** A compiled matcher: `find(prompt)` returns the first listed entry found in `prompt`, or null. */
export interface Blocklist {
  find(prompt: string): string | null;
}

/**
 * Compiles `words` (each a non-empty word or phrase; blank entries are ignored) into one
 * case-insensitive whole-word matcher. An empty list refuses nothing.
 */
export function compileBlocklist(words: readonly string[]): Blocklist {
  const entries = words.map((w) => normalize(w).trim()).filter((w) => w !== '');
  if (entries.length === 0) return { find: () => null };
  // Longest first, so a phrase wins over a word it starts with when reporting the match.
  const sorted = [...entries].sort((a, b) => b.length - a.length);
  const alternatives = sorted.map((w) => w.split(/\s+/u).map(escapeRegExp).join(String.raw`\s+`));
  const re = new RegExp(`(?<!${WORD_CHAR})(?:${alternatives.join('|')})(?!${WORD_CHAR})`, 'iu');
  return {
    find(prompt: string): string | null {
      const m = re.exec(normalize(prompt));
      if (!m) return null;
      const hit = m[0].replace(/\s+/gu, ' ').toLowerCase();
      return sorted.find((w) => w.replace(/\s+/gu, ' ').toLowerCase() === hit) ?? m[0];
    },
  };
}

/** What the visitor is told; it never repeats the refused word. */
export const REFUSAL_MESSAGE = "Sorry, that prompt can't be used here. Please try a different idea.";
