/**
 * Which stored images a public gallery (the kiosk's attract loop) may show while a safety checker is
 * on: only those that checker's classifier checked and whose stored scores pass the current labels
 * and threshold. An image made while no checker ran, or checked by another classifier, is left out
 * rather than shown unchecked.
 */
import type { SafetyConfig } from '../../safety/config';
import type { HistoryEntry } from '../history/store';

/** Whether `entry` may be shown under `safety` (null or action `off`: every entry). A label missing from the stored scores counts as flagged. */
export function passesSafety(entry: Pick<HistoryEntry, 'safety'>, safety: SafetyConfig | null): boolean {
  if (safety === null || safety.action === 'off') return true;
  const verdict = entry.safety;
  if (!verdict || verdict.model !== safety.model) return false;
  return safety.flaggedLabels.every((label) => (verdict.scores[label] ?? 1) < safety.threshold);
}
