/** Narrowing assertion for internal invariants (not for user input: use InvalidInput there). */
export function assert(cond: unknown, msg: string | (() => string)): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${typeof msg === 'string' ? msg : msg()}`);
}

/** Product of a shape's dimensions (1 for a 0-d shape). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2, 3]` → `"[2, 3]"`, for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
