/**
 * The app's safety checker setting (off by default), kept in localStorage under SAFETY_SETTINGS_KEY
 * as JSON SafetyConfig, like the theme and low-memory settings.
 */
import { DEFAULT_SAFETY, type SafetyConfig, validateSafetyConfig } from '../../safety/config';

export const SAFETY_SETTINGS_KEY = 'kleinbild-safety';

/** Off, with the default classifier filled in for when it is turned on. */
export const DEFAULT_APP_SAFETY: SafetyConfig = { model: DEFAULT_SAFETY.model, flaggedLabels: [...DEFAULT_SAFETY.flaggedLabels], threshold: DEFAULT_SAFETY.threshold, action: 'off', dtype: DEFAULT_SAFETY.dtype };

/** The saved setting, or the default when none is saved, it is malformed or storage is unavailable (logged). */
export function savedSafety(): SafetyConfig {
  let text: string | null = null;
  try {
    text = localStorage.getItem(SAFETY_SETTINGS_KEY);
    if (text === null) return DEFAULT_APP_SAFETY;
    return validateSafetyConfig(JSON.parse(text) as SafetyConfig);
  } catch (e) {
    if (text !== null) console.warn(`Ignoring a malformed ${SAFETY_SETTINGS_KEY} in localStorage:`, e);
    return DEFAULT_APP_SAFETY;
  }
}

/** Saves a validated setting (InvalidInput from validateSafetyConfig when it is not valid). */
export function saveSafety(c: SafetyConfig): SafetyConfig {
  const v = validateSafetyConfig(c);
  try {
    localStorage.setItem(SAFETY_SETTINGS_KEY, JSON.stringify(v));
  } catch (e) {
    console.warn('The safety setting could not be saved:', e);
  }
  return v;
}
