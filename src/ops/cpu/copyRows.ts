import { assert, fmtShape } from '../../util/assert';
import type { CpuTensor } from './tensor';

/**
 * In place: dst[c, dstRow + r, x] = src[c, srcRow + r, x] for r < rows. src: [C, Hs, W],
 * dst: [C, Hd, W] → dst. Errors (assert): channel or width mismatch, rows outside either image.
 */
export function copyRows(dst: CpuTensor, src: CpuTensor, dstRow: number, srcRow: number, rows: number): CpuTensor {
  checkCopyRows(dst.shape, src.shape, dstRow, srcRow, rows);
  const [c, hs, w] = src.shape as [number, number, number];
  const hd = dst.shape[1] as number;
  for (let ch = 0; ch < c; ch++) {
    const from = (ch * hs + srcRow) * w;
    dst.data.set(src.data.subarray(from, from + rows * w), (ch * hd + dstRow) * w);
  }
  return dst;
}

/** The checks both backends make: [C, ·, W] images with equal C and W, both row ranges inside. */
export function checkCopyRows(dst: readonly number[], src: readonly number[], dstRow: number, srcRow: number, rows: number): void {
  assert(dst.length === 3 && src.length === 3 && dst[0] === src[0] && dst[2] === src[2],
    () => `copyRows: dst ${fmtShape(dst)} and src ${fmtShape(src)} must be [C, ·, W] with equal C and W`);
  const ok = (row: number, h: number) => Number.isInteger(row) && row >= 0 && row + rows <= h;
  assert(Number.isInteger(rows) && rows >= 0 && ok(srcRow, src[1] as number) && ok(dstRow, dst[1] as number),
    () => `copyRows: ${rows} rows from src row ${srcRow} of ${fmtShape(src)} to dst row ${dstRow} of ${fmtShape(dst)}`);
}
