/// <reference types="vite-plugin-pwa/react" />
/**
 * Registers the service worker (vite-plugin-pwa, registerType 'prompt') and, when a new version
 * has been installed and waits, offers to switch to it. Reload activates the waiting worker
 * (skipWaiting) and reloads the page; Later keeps the running version until the next visit.
 */
import { useRegisterSW } from 'virtual:pwa-register/react';

/** How often a long-open page (e.g. a kiosk) asks the server for a new service worker. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

export function UpdatePrompt() {
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW(_url, registration) {
      if (registration) setInterval(() => void registration.update(), UPDATE_CHECK_MS);
    },
    onRegisterError(error: unknown) {
      // Without a service worker the app still works online; it just is not available offline.
      console.error('Kleinbild: service worker registration failed', error);
    },
  });
  if (!needRefresh) return null;
  return (
    <div className="banner update" role="status" data-testid="update-prompt">
      <span>A new version of Kleinbild is available.</span>
      <button type="button" className="primary" onClick={() => void updateServiceWorker(true)} data-testid="update-reload">
        Reload
      </button>
      <button type="button" onClick={() => setNeedRefresh(false)} data-testid="update-later">
        Later
      </button>
    </div>
  );
}
