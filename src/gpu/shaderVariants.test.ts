import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveVariant, withSubgroups } from './shaderVariants';

const SHADERS = join(__dirname, '../../shaders');

describe('shader variants (// #if … // #else … // #endif)', () => {
  const src = ['a', '// #if SUBGROUPS', 'enable subgroups;', '// #else', 'let x = 1;', '// #endif', 'b'].join('\n');

  it('keeps the branch of the flag and blanks the rest, line numbers unchanged', () => {
    expect(resolveVariant(src, { SUBGROUPS: true }).split('\n')).toEqual(['a', '', 'enable subgroups;', '', '', '', 'b']);
    expect(resolveVariant(src, { SUBGROUPS: false }).split('\n')).toEqual(['a', '', '', '', 'let x = 1;', '', 'b']);
    expect(resolveVariant(src, {})).toBe(resolveVariant(src, { SUBGROUPS: false }));
    expect(resolveVariant('x\n  //   #if F\ny\n// #endif', { F: true })).toBe('x\n\ny\n');
  });

  it('names the line of a directive out of place', () => {
    expect(() => resolveVariant('// #if A\n// #if B\n// #endif', {}, 'k.wgsl')).toThrow('k.wgsl:2: nested #if');
    expect(() => resolveVariant('x\n// #else', {}, 'k.wgsl')).toThrow('k.wgsl:2: #else without #if');
    expect(() => resolveVariant('// #endif', {}, 'k.wgsl')).toThrow('k.wgsl:1: #endif without #if');
    expect(() => resolveVariant('// #if A\nx', {}, 'k.wgsl')).toThrow('k.wgsl: #if not closed');
  });

  // Every shader that has a subgroup variant: the fallback uses no subgroup feature (it must compile
  // on every WebGPU device), the variant enables it first, and both keep the file's line count.
  const files = readdirSync(SHADERS).filter((f) => f.endsWith('.wgsl') && readFileSync(join(SHADERS, f), 'utf8').includes('#if SUBGROUPS'));
  it('marks the reductions: row_stats, layer_norm_modulate, rms_norm, group_norm_stats, matvec, matvec_q', () => {
    expect(files.sort()).toEqual(['group_norm_stats.wgsl', 'layer_norm_modulate.wgsl', 'matvec.wgsl', 'matvec_q.wgsl', 'rms_norm.wgsl', 'row_stats.wgsl']);
  });
  it.each(files)('%s: portable fallback, subgroup variant enables subgroups', (file) => {
    const code = readFileSync(join(SHADERS, file), 'utf8');
    const s = withSubgroups(file, code);
    const uncommented = (c: string) => c.replace(/\/\/.*$/gm, '');
    expect(uncommented(s.code)).not.toMatch(/\bsubgroup(Add|_id|_size|_invocation_id)\b|enable subgroups|num_subgroups/);
    expect(s.subgroupCode).toMatch(/^\s*enable subgroups;/m);
    expect(uncommented(s.subgroupCode!)).toMatch(/subgroupAdd\(/);
    expect(s.code.split('\n').length).toBe(code.split('\n').length);
    expect(s.subgroupCode!.split('\n').length).toBe(code.split('\n').length);
  });
});
