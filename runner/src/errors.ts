/**
 * Whether a failure would fail again on a retry of the whole run: the runner then exits 2 so the
 * Job is not retried (and paid for) in vain. Everything else (timeouts, 5xx, connection resets,
 * git hiccups) is worth one more Job attempt.
 */
export function isPermanentFailure(err: unknown): boolean {
  if (err instanceof PermanentFailure) return true;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && [400, 401, 403, 404, 422].includes(status);
}

/** A failure no retry can fix: bad input or configuration. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
}
