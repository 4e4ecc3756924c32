/** A failure another attempt may cure (an API unavailable, rate limited, a lost connection): retry, then dead-letter. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

/** A failure no retry can cure (an invalid Job, a task nothing can be done for): dead-letter at once. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}
