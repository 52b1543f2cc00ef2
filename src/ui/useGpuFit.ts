/**
 * Hooks for the first-run card: the recommended download of the catalog, and the GPU-fit verdict
 * for a storage format at FIT_SIZE (asked of the engine worker, which plans the run; nothing is
 * downloaded).
 */
import { useEffect, useState } from 'react';
import type * as Comlink from 'comlink';
import { type ModelChoice, modelChoices } from '../catalog/choices';
import type { GeneratorApi, GpuFit, PackQuant } from '../worker/api';

const NO_GROUPS: ModelChoice['repackGroup'] = {};

/** The output size the verdict is planned for: the largest preset of the size fields. */
export const FIT_SIZE = 1024;

/** The catalog's recommended choice; null until computed (or when there is none). */
export function useRecommendedChoice(): ModelChoice | null {
  const [choice, setChoice] = useState<ModelChoice | null>(null);
  useEffect(() => {
    let live = true;
    modelChoices().then(
      (cs) => live && setChoice(cs.find((c) => c.recommended) ?? null),
      () => {},
    );
    return () => {
      live = false;
    };
  }, []);
  return choice;
}

/**
 * The verdict for `quant` at FIT_SIZE² on this GPU (null `quant`: none wanted); null while planned,
 * the error message when planning failed. Asked once per quant. `groups`: the choice's q4 group sizes.
 */
export function useGpuFit(
  engine: { remote: Comlink.Remote<GeneratorApi> } | null,
  quant: PackQuant | null,
  groups: ModelChoice['repackGroup'] = NO_GROUPS,
): GpuFit | string | null {
  const [fit, setFit] = useState<{ quant: PackQuant; fit: GpuFit | string } | null>(null);
  const api = engine?.remote ?? null;
  const have = fit?.quant === quant;
  useEffect(() => {
    if (!api || quant === null || have) return;
    let live = true;
    api.gpuFit(quant, FIT_SIZE, FIT_SIZE, groups).then(
      (f) => live && setFit({ quant, fit: f }),
      (e: unknown) => live && setFit({ quant, fit: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [api, quant, have, groups]);
  return have && fit ? fit.fit : null;
}
