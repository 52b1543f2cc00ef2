import { describe, expect, it } from 'vitest';
import { enterKiosk, isKioskMode, leaveKiosk } from './access';

/** A Storage stand-in backed by a Map (Node has no localStorage). */
function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

describe('kiosk access', () => {
  it('enters by URL or by the remembered flag, and leaves with both cleared', () => {
    const storage = memoryStorage();
    const page = new URL('http://127.0.0.1:4173/?foo=1');
    expect(isKioskMode(page, storage)).toBe(false);
    expect(isKioskMode(new URL('http://127.0.0.1:4173/?kiosk=1'), null)).toBe(true);
    const inside = enterKiosk(page, storage);
    expect(inside.href).toBe('http://127.0.0.1:4173/?foo=1&kiosk=1');
    expect(isKioskMode(page, storage)).toBe(true); // a reload without the parameter stays in kiosk mode
    const out = leaveKiosk(new URL('http://127.0.0.1:4173/?foo=1&kiosk=1&config=%2Fk.json'), storage);
    expect(out.href).toBe('http://127.0.0.1:4173/?foo=1');
    expect(isKioskMode(out, storage)).toBe(false);
  });
});
