/** The theme control in the header: System / Light / Dark, stored and applied by ./theme. */
import { THEME_CHOICES, type ThemeChoice, useTheme } from './theme';

export function ThemeSelect() {
  const [choice, setChoice] = useTheme();
  return (
    <label className="inline theme-select">
      <span>Theme</span>
      <select value={choice} onChange={(e) => setChoice(e.target.value as ThemeChoice)} data-testid="theme">
        {THEME_CHOICES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}
