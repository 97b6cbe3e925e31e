import type { FieldIndex } from './field-types.js';

/**
 * The documents projected by a `_rawp` expression `spec` (raw-evaluation.ts, checked first by
 * raw-expressions.ts), loaded when first asked for: mingo's expression, pipeline and projection
 * operators are about 9 MB that a process holds for good once loaded, and most never evaluate a
 * `_rawp` expression.
 */
export async function projectExpressions(
  docs: readonly Record<string, unknown>[],
  spec: Record<string, unknown>,
  index: FieldIndex,
): Promise<Record<string, unknown>[]> {
  const evaluation = await import('./raw-evaluation.js');
  return evaluation.projectExpressions(docs, spec, index);
}
