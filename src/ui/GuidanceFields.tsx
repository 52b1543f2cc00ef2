/**
 * The fields only a base (non-distilled) model has: the classifier-free guidance scale g (a number
 * field and a matching slider, GUIDANCE_MIN…GUIDANCE_MAX = 0–20 in steps of 0.5; the model's default
 * is 4) and the negative prompt (the unconditional branch's text, diffusers' `negative_prompt`; empty
 * is diffusers' default ""). With g > 1 every step runs the transformer twice (conditional and
 * unconditional), so a step costs about twice a distilled model's. Owns no state: PromptForm holds
 * the raw text so half-typed values never become NaN.
 */
import { GUIDANCE_MAX, GUIDANCE_MIN, GUIDANCE_STEP } from './validate';

export interface GuidanceFieldsProps {
  /** The guidance field's raw text. */
  guidance: string;
  onGuidance(text: string): void;
  /** The value the slider shows while the text is not a valid number (the model's default). */
  fallback: number;
  negativePrompt: string;
  onNegativePrompt(text: string): void;
  guidanceInvalid: boolean;
  negativeInvalid: boolean;
  /** Id prefix for the hint the fields point to (aria-describedby). */
  idPrefix: string;
}

export function GuidanceFields({ guidance, onGuidance, fallback, negativePrompt, onNegativePrompt, guidanceInvalid, negativeInvalid, idPrefix }: GuidanceFieldsProps) {
  const hintId = `${idPrefix}-guidance-hint`;
  const g = Number(guidance);
  const slider = guidance.trim() !== '' && Number.isFinite(g) ? Math.min(GUIDANCE_MAX, Math.max(GUIDANCE_MIN, g)) : fallback;
  return (
    <fieldset className="guidance-fields" data-testid="guidance-fields">
      <legend>Base model</legend>
      <div className="guidance field">
        <label htmlFor={`${idPrefix}-guidance`}>
          <span>Guidance</span>
        </label>
        <span className="row tight">
          <input id={`${idPrefix}-guidance`} type="number" inputMode="decimal" min={GUIDANCE_MIN} max={GUIDANCE_MAX} step={GUIDANCE_STEP}
            value={guidance} onChange={(e) => onGuidance(e.target.value)} aria-invalid={guidanceInvalid} aria-describedby={hintId}
            data-testid="guidance" />
          <input type="range" className="grow" min={GUIDANCE_MIN} max={GUIDANCE_MAX} step={GUIDANCE_STEP} value={slider}
            onChange={(e) => onGuidance(e.target.value)} aria-label="Guidance scale" aria-describedby={hintId} data-testid="guidance-slider" />
        </span>
      </div>
      <label>
        <span>Negative prompt</span>
        <textarea value={negativePrompt} onChange={(e) => onNegativePrompt(e.target.value)} rows={2} placeholder="What the image should not show (optional)"
          aria-invalid={negativeInvalid} aria-describedby={hintId} data-testid="negative-prompt" />
      </label>
      <p id={hintId} className="hint" data-testid="guidance-hint">
        Classifier-free guidance: above 1 each step runs the model twice, steered toward the prompt and away from the negative prompt
        (about twice the time per step); 1 or less turns it off.
      </p>
    </fieldset>
  );
}
