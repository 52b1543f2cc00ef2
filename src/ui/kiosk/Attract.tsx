/**
 * The attract loop: a full-screen slide show of the gallery (the history store, newest first)
 * shown while the kiosk is idle, each image with its prompt. Images whose prompt the blocked-word
 * list refuses (made outside kiosk mode, or before a word was added) are left out, and so, while the
 * safety checker is on, are images it did not check and pass (../safety/gallery.ts). With nothing to
 * show it is a welcome slide with the instructions. A tap or click ends it; useKioskSession ends
 * it on any key as well.
 */
import { useEffect, useState } from 'react';
import { errorText } from '../history/save';
import { historyImage } from '../history/store';
import { useHistoryEntries } from '../history/useHistory';
import type { SafetyConfig } from '../../safety/config';
import { passesSafety } from '../safety/gallery';
import type { Blocklist } from './blocklist';

/** The loop cycles through at most this many of the newest images. */
const ATTRACT_MAX = 30;

export interface AttractProps {
  /** Slide number from the idle clock (0, 1, 2, …); taken modulo the number of images. */
  slide: number;
  title: string;
  blocklist: Blocklist;
  /** The kiosk's safety checker (null: off). */
  safety: SafetyConfig | null;
  onExit(): void;
}

/** An object URL of entry `id`'s PNG, revoked when the entry changes or the slide show ends. */
function useImageUrl(id: string | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (id === null) return;
    let alive = true;
    let owned: string | null = null;
    historyImage(id, 'png').then(
      (blob) => {
        if (!alive || !blob) return;
        owned = URL.createObjectURL(blob);
        setUrl(owned);
      },
      (e: unknown) => console.error(`Kiosk: gallery image ${id} could not be read: ${errorText(e)}`),
    );
    return () => {
      alive = false;
      if (owned) URL.revokeObjectURL(owned);
      setUrl(null);
    };
  }, [id]);
  return url;
}

export function Attract({ slide, title, blocklist, safety, onExit }: AttractProps) {
  const { entries, error } = useHistoryEntries();
  useEffect(() => {
    if (error) console.error(`Kiosk: ${error}`);
  }, [error]);
  const shown = (entries ?? []).filter((e) => blocklist.find(e.prompt) === null && passesSafety(e, safety)).slice(0, ATTRACT_MAX);
  const entry = shown.length > 0 ? (shown[slide % shown.length] ?? null) : null;
  const url = useImageUrl(entry?.id ?? null);

  return (
    <div className="kiosk-attract" role="button" tabIndex={-1} aria-label="Start" data-testid="kiosk-attract" data-slide={slide}
      onClick={onExit}>
      {entry ? (
        <figure className="kiosk-attract-slide">
          {url ? <img src={url} alt={entry.prompt} data-testid="kiosk-attract-image" data-entry={entry.id} /> : null}
          <figcaption data-testid="kiosk-attract-caption">“{entry.prompt}”</figcaption>
        </figure>
      ) : (
        <div className="kiosk-welcome" data-testid="kiosk-welcome">
          <h1>{title}</h1>
          <p>Describe a picture in your own words, and watch it appear.</p>
        </div>
      )}
      <p className="kiosk-attract-hint">Touch the screen to start</p>
    </div>
  );
}
