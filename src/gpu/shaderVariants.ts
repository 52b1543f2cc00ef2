/**
 * Shader variants from one WGSL file. A file may mark lines that only one variant compiles:
 *
 *   // #if SUBGROUPS
 *   …lines for devices with subgroup operations…
 *   // #else
 *   …the portable fallback…
 *   // #endif
 *
 * (no nesting; `#else` optional). `withSubgroups` resolves both branches once, at import: `code` is
 * the fallback (what every WebGPU device compiles), `subgroupCode` the subgroup variant, which
 * `GpuContext` compiles instead when its device offers the `subgroups` feature and the `subgroup_id`
 * WGSL language feature (AdapterReport.subgroupReductions). Dropped lines become empty lines, so
 * compiler messages keep the file's line numbers.
 */
import type { Shader } from './tensor';

const DIRECTIVE = /^\s*\/\/\s*#(if|else|endif)\b\s*(\w*)\s*$/;

/**
 * `code` with every `// #if FLAG … // #else … // #endif` block resolved for `flags` (a flag not
 * listed is false). Errors: a directive out of place (nested #if, #else or #endif without #if, an
 * #if never closed), naming the line.
 */
export function resolveVariant(code: string, flags: Readonly<Record<string, boolean>>, file = 'shader'): string {
  let state: 'outside' | 'then' | 'else' = 'outside';
  let taken = false;
  const out = code.split('\n').map((line, i) => {
    const d = DIRECTIVE.exec(line);
    const where = `${file}:${i + 1}`;
    if (d) {
      if (d[1] === 'if') {
        if (state !== 'outside') throw new Error(`${where}: nested #if`);
        state = 'then';
        taken = flags[d[2] as string] === true;
      } else if (d[1] === 'else') {
        if (state !== 'then') throw new Error(`${where}: #else without #if`);
        state = 'else';
      } else {
        if (state === 'outside') throw new Error(`${where}: #endif without #if`);
        state = 'outside';
      }
      return '';
    }
    if (state === 'outside') return line;
    return (state === 'then') === taken ? line : '';
  });
  if (state !== 'outside') throw new Error(`${file}: #if not closed`);
  return out.join('\n');
}

/** The shader `file` with its fallback and its SUBGROUPS variant (see the module comment). */
export function withSubgroups(file: string, code: string): Shader {
  return { file, code: resolveVariant(code, { SUBGROUPS: false }, file), subgroupCode: resolveVariant(code, { SUBGROUPS: true }, file) };
}
