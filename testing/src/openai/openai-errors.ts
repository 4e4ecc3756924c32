import type { ServerResponse } from 'node:http';
import { type Fault, sendJson } from '../fake-http-server.ts';

/**
 * An error the fake answers in OpenAI's shape, `{ error: { message, type, param, code } }`.
 * Thrown by the request checks; a test's handler may throw one to answer with that error.
 */
export class OpenAIApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;

  constructor(
    status: number,
    message: string,
    {
      type = 'invalid_request_error',
      param = null,
      code = null,
    }: { type?: string; param?: string | null; code?: string | null } = {},
  ) {
    super(message);
    this.name = 'OpenAIApiError';
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }
}

/** 400 invalid_request_error, the common case of the request checks. */
export function badRequest(message: string, param: string | null = null, code: string | null = null): OpenAIApiError {
  return new OpenAIApiError(400, message, { param, code });
}

export function errorBody(error: { message: string; type: string; param: string | null; code: string | null }) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

// OpenAI's answers carry an `x-request-id` header, which the SDK reports as `requestID`.
export function sendOpenAIError(
  res: ServerResponse,
  error: OpenAIApiError,
  requestId: string,
  retryable?: boolean,
): void {
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (retryable !== undefined) headers['x-should-retry'] = String(retryable);
  sendJson(res, error.status, errorBody(error), headers);
}

/** A status fault in OpenAI's error shape, for `inject()`. */
export function openAIFault(
  status: number,
  error: { message: string; type: string; code: string | null },
  requestId: string,
  headers: Record<string, string> = {},
): Fault {
  return {
    kind: 'status',
    status,
    headers: { 'x-request-id': requestId, ...headers },
    body: errorBody({ ...error, param: null }),
  };
}
