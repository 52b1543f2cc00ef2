/**
 * The kiosk's refused-word list. A prompt is refused when it contains a listed word or phrase as a
 * whole word, compared after folding both (fold.ts): NFKC, invisible characters such as the
 * zero-width space and the soft hyphen removed, accents removed, Cyrillic/Greek look-alikes read as
 * Latin, lower case, leetspeak digits read as letters. A whole word is bounded on both sides by a
 * character that is not a letter, digit or underscore, or by the text's edge: "art" refuses "Art!",
 * "pop art", "ＡＲＴ", "аrt" (Cyrillic а) and "4rt", but not "party" or "artist". Inflected forms
 * are separate entries ("gun", "guns"). A phrase matches across any run of whitespace ("hot dog"
 * matches "hot   dog").
 *
 * Three readings of the folded prompt are checked, and a hit in any one refuses it:
 *  - the folded prompt itself;
 *  - spelled-out words joined: SPELLED_MIN (3) or more single letters in a row, separated by spaces or
 *    punctuation ("n u d e", "n.u.d.e", "n-u-d-e"), are read as one word. Runs of one or two single
 *    letters are left alone, and a joined run must equal an entry (a phrase's letters without its
 *    spaces: "h o t d o g"), so "ass" refuses "a s s" but not "a s s e m b l y". The one-letter
 *    words "a" and "i" at either end of a run may also be read as words of their own, so "a n u d e"
 *    is refused as "nude";
 *  - punctuation inside a word removed ("nu.de", "n-ude").
 * Known gaps: a word split by spaces into pieces of two or more letters ("nu de"), or with letters
 * doubled ("nuude"), passes. Joining pieces of any length, or matching inside words, would refuse
 * ordinary prompts ("classic glass" contains "ass"); a word list cannot replace a look at what the
 * kiosk shows.
 */
import { dropInnerPunctuation, foldLetters, foldText, foldWords, joinSpelled } from './fold';

/** Characters that belong to a word: letters, combining marks, digits, underscore. */
const WORD_CHAR = String.raw`[\p{L}\p{M}\p{N}_]`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const oneSpace = (s: string): string => s.trim().replace(/\s+/gu, ' ');

/** A compiled matcher: `find(prompt)` returns the first listed entry found in `prompt`, or null. */
export interface Blocklist {
  find(prompt: string): string | null;
}

/**
 * Compiles `words` (each a non-empty word or phrase; blank entries, and entries made only of
 * invisible characters, are ignored) into one whole-word matcher over folded text. An empty list
 * refuses nothing. `find` returns the entry as listed (not folded).
 */
export function compileBlocklist(words: readonly string[]): Blocklist {
  // Folded form → the entry as listed (the first one, when two fold alike).
  const byFold = new Map<string, string>();
  for (const w of words) {
    const f = oneSpace(foldText(w));
    if (f !== '' && !byFold.has(f)) byFold.set(f, w.trim());
  }
  if (byFold.size === 0) return { find: () => null };
  // Longest first, so a phrase wins over a word it starts with when reporting the match.
  const sorted = [...byFold.keys()].sort((a, b) => b.length - a.length);
  const alternatives = sorted.map((w) => w.split(' ').map(escapeRegExp).join(String.raw`\s+`));
  const re = new RegExp(`(?<!${WORD_CHAR})(?:${alternatives.join('|')})(?!${WORD_CHAR})`, 'u');
  // Every entry with its spaces taken out, for words and phrases spelled out letter by letter.
  const spelled = new Map(sorted.map((w) => [w.replaceAll(' ', ''), w]));

  const entryOf = (folded: string): string => byFold.get(oneSpace(folded)) ?? folded;
  return {
    find(prompt: string): string | null {
      const letters = foldLetters(prompt);
      const joined = joinSpelled(letters);
      for (const reading of [foldWords(letters), joined.text, dropInnerPunctuation(letters)]) {
        const m = re.exec(reading);
        if (m) return entryOf(m[0]);
      }
      for (const word of joined.joined) {
        const entry = spelled.get(word);
        if (entry !== undefined) return entryOf(entry);
      }
      return null;
    },
  };
}

/** What the visitor is told; it never repeats the refused word. */
export const REFUSAL_MESSAGE = "Sorry, that prompt can't be used here. Please try a different idea.";
