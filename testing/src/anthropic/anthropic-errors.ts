import type { ServerResponse } from 'node:http';
import { type Fault, sendJson } from '../fake-http-server.ts';

/** The `error.type` values of the Messages API, with the status each comes with. */
export const ANTHROPIC_ERROR_STATUS = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
} as const;
export type AnthropicErrorType = keyof typeof ANTHROPIC_ERROR_STATUS;

/**
 * An error the fake answers in the API's shape. Thrown by the request checks, and usable by a
 * test's handler to make the fake answer with a specific error.
 */
export class AnthropicApiError extends Error {
  readonly type: AnthropicErrorType;
  readonly status: number;

  constructor(type: AnthropicErrorType, message: string, status: number = ANTHROPIC_ERROR_STATUS[type]) {
    super(message);
    this.name = 'AnthropicApiError';
    this.type = type;
    this.status = status;
  }
}

/** 400 invalid_request_error: the common case of the request checks. */
export function invalid(message: string): AnthropicApiError {
  return new AnthropicApiError('invalid_request_error', message);
}

export function errorBody(type: AnthropicErrorType, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

// Anthropic's answers carry a `request-id` header; its errors also say whether a retry can help.
export function sendAnthropicError(
  res: ServerResponse,
  error: AnthropicApiError,
  requestId: string,
  retryable = error.status === 429 || error.status >= 500,
): void {
  sendJson(res, error.status, errorBody(error.type, error.message, requestId), {
    'request-id': requestId,
    'x-should-retry': String(retryable),
  });
}

/** A status fault in the API's error shape, for `inject()`. */
export function anthropicFault(
  type: AnthropicErrorType,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): Fault {
  return {
    kind: 'status',
    status: ANTHROPIC_ERROR_STATUS[type],
    headers: { 'request-id': requestId, ...headers },
    body: errorBody(type, message, requestId),
  };
}
