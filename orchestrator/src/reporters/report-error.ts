/** A report that did not go through: `retryable` when another attempt may (5xx, 429, no answer). */
export class ReportError extends Error {
  override name = 'ReportError';
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** How long the service asked to wait (Retry-After), if it did. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { retryable: boolean; status?: number; retryAfterMs?: number | undefined; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
