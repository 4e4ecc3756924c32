import Anthropic from '@anthropic-ai/sdk';
import { Octokit } from '@octokit/rest';
import OpenAI from 'openai';
import type { CreateMessage } from './coder/coder-session.ts';
import type { RunnerConfig } from './config.ts';
import { createReviewer, type Reviewer } from './reviewer/reviewer.ts';

export interface ApiOptions {
  maxRetries: number;
  timeoutMs: number;
}

/** Claude's Messages API; the SDK retries 429, 5xx and 529 with backoff, honouring retry-after. */
export function anthropicMessages(
  { baseURL, apiKey }: { baseURL?: string | undefined; apiKey: string },
  api: ApiOptions,
): CreateMessage {
  const client = new Anthropic({
    apiKey,
    maxRetries: api.maxRetries,
    timeout: api.timeoutMs,
    ...(baseURL ? { baseURL } : {}),
  });
  return (params, options) => client.messages.create(params, options);
}

export function openaiClient(
  { baseURL, apiKey }: { baseURL?: string | undefined; apiKey: string },
  api: ApiOptions,
): OpenAI {
  return new OpenAI({ apiKey, maxRetries: api.maxRetries, timeout: api.timeoutMs, ...(baseURL ? { baseURL } : {}) });
}

/**
 * No token in proxy mode: the proxy adds it. Transient failures of the pull request calls are
 * retried in submit/pull-requests.ts.
 */
export function githubClient({ apiUrl, token }: { apiUrl: string; token?: string | undefined }): Octokit {
  return new Octokit({
    baseUrl: apiUrl,
    userAgent: 'anton-runner',
    ...(token ? { auth: token } : {}),
  });
}

/** The three outside services of a run, as configured (direct or through the credential proxy). */
export function apiClients(config: RunnerConfig): {
  createMessage: CreateMessage;
  reviewer: Reviewer;
  octokit: Octokit;
} {
  return {
    createMessage: anthropicMessages(config.anthropic, config.api),
    reviewer: createReviewer(openaiClient(config.openai, config.api), config.reviewer.model),
    octokit: githubClient(config.github),
  };
}
