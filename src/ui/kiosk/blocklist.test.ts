import { describe, expect, it } from 'vitest';
import { compileBlocklist } from './blocklist';
import { foldText } from './fold';

describe('compileBlocklist', () => {
  const list = compileBlocklist(['art', 'hot dog', 'c++', 'Straße']);

  it('matches whole words, case-insensitively', () => {
    expect(list.find('Pop ART in a museum')).toBe('art');
    expect(list.find('art')).toBe('art');
    expect(list.find('(Art!)')).toBe('art');
    expect(list.find('a party with an artist')).toBeNull();
    expect(list.find('state_art')).toBeNull(); // underscore joins words
    expect(list.find('art2')).toBeNull();
  });

  it('matches phrases across any whitespace and reports the entry', () => {
    expect(list.find('a HOT \n  dog stand')).toBe('hot dog');
    expect(list.find('a hot dogs stand')).toBeNull();
    expect(list.find('a hotdog')).toBeNull();
  });

  it('treats regex characters literally', () => {
    expect(list.find('learn c++ today')).toBe('c++');
    expect(list.find('learn cxx')).toBeNull();
  });

  it('compares after NFKC normalisation and without accents', () => {
    expect(list.find('ＡＲＴ')).toBe('art'); // full-width letters
    expect(list.find('𝐚𝐫𝐭')).toBe('art'); // mathematical bold
    expect(list.find('straße')).toBe('Straße');
    expect(list.find('ärt')).toBe('art'); // an accent does not hide a word
    expect(list.find('a\u0308rt')).toBe('art'); // nor a combining one
  });

  it('refuses nothing when the list is empty or blank', () => {
    expect(compileBlocklist([]).find('anything at all')).toBeNull();
    expect(compileBlocklist(['  ']).find('  ')).toBeNull();
    expect(compileBlocklist(['\u200B']).find('anything \u200B at all')).toBeNull();
  });
});

describe('compileBlocklist against disguised words', () => {
  const list = compileBlocklist(['nude', 'porn', 'gun', 'ass', 'sex', 'hot dog']);

  it.each([
    ['zero-width space', 'a nu\u200Bde statue'],
    ['zero-width non-joiner and joiner', 'a n\u200Cud\u200De statue'],
    ['word joiner', 'a nu\u2060de statue'],
    ['byte-order mark', '\uFEFFnude'],
    ['soft hyphen', 'a nu\u00ADde statue'],
    ['Cyrillic е', 'a nud\u0435 statue'],
    ['Cyrillic capitals', 'a NUD\u0415'],
    ['Cyrillic р and Greek ο', '\u0440\u03BFrn'],
    ['small capitals', 'ɴᴜᴅᴇ'],
    ['full-width', 'ｎｕｄｅ'],
    ['accents', 'nüdé'],
    ['spaced letters', 'the n u d e statue'],
    ['dotted letters', 'a n.u.d.e statue'],
    ['hyphenated letters', 'a n-u-d-e statue'],
    ['underscored letters', 'n_u_d_e'],
    ['letters with spaced dots', 'N . U . D . E'],
    ['punctuation inside the word', 'a nu.de statue'],
    ['leetspeak', 'p0rn'],
    ['leetspeak symbols', 'a big a$$'],
    ['leetspeak @', '@ss'],
    ['leetspeak, spaced', 'n u d 3'],
    ['article before spaced letters', 'a n u d e statue'],
    ['everything at once', 'n\u200B.\u03C5\u00AD.d.3'],
  ])('%s: %s', (_, prompt) => {
    expect(list.find(prompt)).not.toBeNull();
  });

  it('reports the entry as listed', () => {
    expect(list.find('a nud\u0435 statue')).toBe('nude');
    expect(list.find('h o t d o g')).toBe('hot dog'); // a phrase spelled out
    expect(list.find('a h-o-t dog')).toBe('hot dog');
  });

  it.each([
    'classic glass house',
    'a grassy hill with a bass guitar',
    'a s s e m b l y line', // spelled out, but not the word
    'Sussex and Essex',
    'it had begun to rain in Burgundy',
    'Massachusetts in autumn',
    'a denuded tree',
    'a 1967 car with 455 horsepower', // digits only: never read as letters
    '4k photo of a 3d robot, 1080p',
    'J. R. R. Tolkien style map',
    'plan a b then c',
    'U.S. flag',
    'красивый дом у моря', // Russian: a house by the sea
    'ένα σπίτι δίπλα στη θάλασσα', // Greek: the same
    'a cat astronaut in a tiny spaceship, watercolor',
    'a hotdog stand', // a phrase is not its words glued together
  ])('passes an ordinary prompt: %s', (prompt) => {
    expect(list.find(prompt)).toBeNull();
  });

  it('folds look-alikes, invisibles and leetspeak (fold.ts)', () => {
    expect(foldText('Nu\u200Bd\u0435\u00AD 4RT p0rn, 1984')).toBe('nude art porn, 1984');
    expect(foldText('ΗΕΛΛΟ')).toBe('heλλo'); // Greek capitals that look Latin; λ does not
  });
});
