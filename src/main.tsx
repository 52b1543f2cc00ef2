/** React root: mounts <App/> into #root, or <KioskApp/> in kiosk mode (`?kiosk=1`; ui/kiosk/access.ts). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { browserStorage, isKioskMode } from './ui/kiosk/access';
import { KioskApp } from './ui/kiosk/KioskApp';
import { applyTheme, loadTheme } from './ui/theme';
import './ui/styles.css';

applyTheme(loadTheme()); // before the first paint, so a stored light/dark choice does not flash

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    {isKioskMode(new URL(window.location.href), browserStorage()) ? <KioskApp /> : <App />}
  </StrictMode>,
);
