import { describe, expect, it } from 'vitest';
import { compileBlocklist } from './blocklist';

describe('compileBlocklist', () => {
  const list = compileBlocklist(['art', 'hot dog', 'c++', 'Straße']);

  it('matches whole words, case-insensitively', () => {
    expect(list.find('Pop ART in a museum')).toBe('art');
    expect(list.find('art')).toBe('art');
    expect(list.find('(Art!)')).toBe('art');
    expect(list.find('ärt')).toBeNull();
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

  it('compares after NFKC normalisation', () => {
    expect(list.find('ＡＲＴ')).toBe('art'); // full-width letters
    expect(list.find('straße')).toBe('Straße');
  });

  it('refuses nothing when the list is empty or blank', () => {
    expect(compileBlocklist([]).find('anything at all')).toBeNull();
    expect(compileBlocklist(['  ']).find('  ')).toBeNull();
  });
});
