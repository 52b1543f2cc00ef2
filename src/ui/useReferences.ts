/**
 * State of the reference panel: the ordered list (at most 4), the refusals of the last add, and
 * how many adds are still decoding / downscaling. A refused or undecodable image leaves the list
 * as it was.
 */
import { useCallback, useRef, useState } from 'react';
import { MAX_REFERENCES } from '../pipeline/references';
import { decodeReference, type PanelReference, referenceFromPixels } from './references';

export interface References {
  items: PanelReference[];
  /** Why the last add refused some images (one line each); empty when all went in. */
  messages: string[];
  /** Adds in progress (a 12000×8000 photo takes a few seconds to downscale). */
  adding: number;
  addFiles(files: readonly File[]): Promise<void>;
  /** Adds RGBA8 the caller no longer needs to own (pass a copy). */
  addPixels(name: string, width: number, height: number, rgba: Uint8ClampedArray): Promise<void>;
  remove(id: string): void;
  /** Moves an item one place left (−1) or right (+1). */
  move(id: string, by: -1 | 1): void;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function useReferences(): References {
  const [items, setItems] = useState<PanelReference[]>([]);
  const [messages, setMessages] = useState<string[]>([]);
  const [adding, setAdding] = useState(0);
  // Adds are async (decoding); the count check runs against the list as it is when each one lands.
  const current = useRef<PanelReference[]>([]);
  const commit = useCallback((next: PanelReference[]) => {
    current.current = next;
    setItems(next);
  }, []);

  const append = useCallback(
    (item: PanelReference): string | null => {
      if (current.current.length >= MAX_REFERENCES) {
        return `Could not add ${item.name}: at most ${MAX_REFERENCES} reference images; remove one first.`;
      }
      commit([...current.current, item]);
      return null;
    },
    [commit],
  );

  const addFiles = useCallback(
    async (files: readonly File[]) => {
      const refused: string[] = [];
      setAdding((k) => k + 1);
      for (const file of files) {
        const name = file.name || 'pasted image';
        try {
          const err = append(await decodeReference(file, name, current.current.length + 1));
          if (err) refused.push(err);
        } catch (e) {
          refused.push(message(e));
        }
      }
      setAdding((k) => k - 1);
      setMessages(refused);
    },
    [append],
  );

  const addPixels = useCallback(
    async (name: string, width: number, height: number, rgba: Uint8ClampedArray) => {
      setAdding((k) => k + 1);
      try {
        const err = append(await referenceFromPixels(name, width, height, rgba, current.current.length + 1));
        setMessages(err ? [err] : []);
      } catch (e) {
        setMessages([message(e)]);
      } finally {
        setAdding((k) => k - 1);
      }
    },
    [append],
  );

  const remove = useCallback(
    (id: string) => {
      commit(current.current.filter((r) => r.id !== id));
      setMessages([]);
    },
    [commit],
  );

  const move = useCallback(
    (id: string, by: -1 | 1) => {
      const list = [...current.current];
      const from = list.findIndex((r) => r.id === id);
      const to = from + by;
      if (from < 0 || to < 0 || to >= list.length) return;
      [list[from], list[to]] = [list[to] as PanelReference, list[from] as PanelReference];
      commit(list);
    },
    [commit],
  );

  return { items, messages, adding, addFiles, addPixels, remove, move };
}
