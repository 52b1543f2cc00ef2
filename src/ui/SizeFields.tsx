/**
 * Output size: aspect-ratio and megapixel presets (sizes.ts) that fill in width and height, plus the
 * two fields for a custom size. A preset that would pass 2048 px a side is clamped, and the note
 * says so; a custom size that is not allowed is explained under the fields, and both selects then
 * read "Custom" (picking a preset from them sets its size again).
 */
import { ASPECTS, aspectByLabel, clampNote, customSizeErrors, formatMegapixels, MEGAPIXELS, presetSize } from './sizes';
import { SIZE_MAX, SIZE_MIN, SIZE_MULTIPLE } from './validate';

/** The selects' value while the fields hold a size no preset gives ("Custom", not the last preset). */
const CUSTOM = 'custom';

export interface SizeFieldsProps {
  width: string;
  height: string;
  /** The preset last picked; the fields may since have been edited to a custom size. */
  aspect: string;
  megapixels: number;
  onSize(width: string, height: string): void;
  onPreset(aspect: string, megapixels: number): void;
  /** Id of the message element, for aria-describedby. */
  messageId: string;
}

export function SizeFields({ width, height, aspect, megapixels, onSize, onPreset, messageId }: SizeFieldsProps) {
  const errors = customSizeErrors(width, height);
  const preset = presetSize(aspectByLabel(aspect), megapixels);
  const isPreset = width === String(preset.width) && height === String(preset.height);
  const note = isPreset ? clampNote(aspectByLabel(aspect), megapixels) : null;
  const hint = `${SIZE_MIN}–${SIZE_MAX}, multiple of ${SIZE_MULTIPLE}`;
  const pick = (a: string, mp: number) => {
    const p = presetSize(aspectByLabel(a), mp);
    onPreset(a, mp);
    onSize(String(p.width), String(p.height));
  };
  return (
    <>
      <div className="grid">
        <label>
          <span>Aspect</span>
          <select value={isPreset ? aspect : CUSTOM} onChange={(e) => pick(e.target.value, megapixels)} data-testid="size-aspect">
            {isPreset ? null : <option value={CUSTOM} disabled>Custom</option>}
            {ASPECTS.map((a) => (
              <option key={a.label} value={a.label}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Area</span>
          <select value={isPreset ? megapixels : CUSTOM} onChange={(e) => pick(aspect, Number(e.target.value))} data-testid="size-mp">
            {isPreset ? null : <option value={CUSTOM} disabled>Custom</option>}
            {MEGAPIXELS.map((mp) => (
              <option key={mp} value={mp}>
                {formatMegapixels(mp)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Width</span>
          <input type="number" inputMode="numeric" min={SIZE_MIN} max={SIZE_MAX} step={SIZE_MULTIPLE} value={width}
            onChange={(e) => onSize(e.target.value, height)} aria-invalid={errors.some((m) => m.startsWith('Width'))}
            aria-describedby={messageId} title={hint} data-testid="width" />
        </label>
        <label>
          <span>Height</span>
          <input type="number" inputMode="numeric" min={SIZE_MIN} max={SIZE_MAX} step={SIZE_MULTIPLE} value={height}
            onChange={(e) => onSize(width, e.target.value)} aria-invalid={errors.some((m) => m.startsWith('Height'))}
            aria-describedby={messageId} title={hint} data-testid="height" />
        </label>
      </div>
      <p className="field-error" id={messageId} data-testid="size-error" hidden={errors.length === 0}>
        {errors.join(' ')}
      </p>
      <p className="hint" data-testid="size-note">
        {note ?? (isPreset ? `${aspect} at ${formatMegapixels(megapixels)}.` : `Custom size (${hint}, at most ${SIZE_MAX}×${SIZE_MAX} = 4 MP).`)}
      </p>
    </>
  );
}
