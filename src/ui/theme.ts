/**
 * Colour theme: 'system' follows prefers-color-scheme; 'light' and 'dark' override it. The choice is
 * kept in localStorage under THEME_KEY and applied as `data-theme` on <html>, which sets the CSS
 * `color-scheme` there; every colour in styles.css is a `light-dark()` custom property, so nothing
 * else changes.
 */
import { useCallback, useState } from 'react';

export type ThemeChoice = 'system' | 'light' | 'dark';

export const THEME_KEY = 'kleinbild.theme';

export const THEME_CHOICES: readonly { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

/** The browser chrome colour (meta theme-color) of each scheme: styles.css's --bg. */
const CHROME_COLOURS = { light: '#f6f7f9', dark: '#111417' } as const;

function isChoice(v: unknown): v is ThemeChoice {
  return v === 'system' || v === 'light' || v === 'dark';
}

/** The stored choice; 'system' when none is stored, the value is unknown, or storage is blocked. */
export function loadTheme(): ThemeChoice {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(THEME_KEY);
  } catch {
    // storage disabled (e.g. blocked third-party context): the system theme is the honest default
  }
  return isChoice(stored) ? stored : 'system';
}

/** Sets `data-theme` on <html> (removed for 'system') and the meta theme-color tags to match. */
export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') delete root.dataset.theme;
  else root.dataset.theme = choice;
  for (const meta of document.querySelectorAll<HTMLMetaElement>('meta[name="theme-color"]')) {
    const own = meta.media.includes('dark') ? 'dark' : 'light';
    meta.content = CHROME_COLOURS[choice === 'system' ? own : choice];
  }
}

/** React state for the theme select: applies and stores every change. */
export function useTheme(): [ThemeChoice, (choice: ThemeChoice) => void] {
  const [choice, setChoice] = useState<ThemeChoice>(loadTheme);
  const set = useCallback((next: ThemeChoice) => {
    setChoice(next);
    applyTheme(next);
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // not persisted when storage is blocked; the theme still applies for this page
    }
  }, []);
  return [choice, set];
}
