import Anthropic from '@anthropic-ai/sdk';
import { Octokit } from '@octokit/rest';
import OpenAI from 'openai';
import type { CreateMessage } from './coder/coder-session.ts';
import type { RunnerConfig } from './config.ts';
import { PROXY_KEY_HEADER } from './credential-proxy/protocol.ts';
import { createReviewer, type Reviewer } from './reviewer/reviewer.ts';

export interface ApiOptions {
  maxRetries: number;
  timeoutMs: number;
}

/** Claude's Messages API; the SDK retries 429, 5xx and 529 with backoff, honouring retry-after. */
/** The run's proxy key on every request (proxy mode), so the proxy serves this runner only. */
function keyHeaders(proxyKey: string | undefined): Record<string, string> {
  return proxyKey ? { [PROXY_KEY_HEADER]: proxyKey } : {};
}

export function anthropicMessages(
  { baseURL, apiKey }: { baseURL?: string | undefined; apiKey: string },
  api: ApiOptions,
  proxyKey?: string,
): CreateMessage {
  const client = new Anthropic({
    apiKey,
    maxRetries: api.maxRetries,
    timeout: api.timeoutMs,
    defaultHeaders: keyHeaders(proxyKey),
    ...(baseURL ? { baseURL } : {}),
  });
  return (params, options) => client.messages.create(params, options);
}

export function openaiClient(
  { baseURL, apiKey }: { baseURL?: string | undefined; apiKey: string },
  api: ApiOptions,
  proxyKey?: string,
): OpenAI {
  return new OpenAI({
    apiKey,
    maxRetries: api.maxRetries,
    timeout: api.timeoutMs,
    defaultHeaders: keyHeaders(proxyKey),
    ...(baseURL ? { baseURL } : {}),
  });
}

/**
 * No token in proxy mode: the proxy adds it. Transient failures of the pull request calls are
 * retried in submit/pull-requests.ts.
 */
export function githubClient(
  { apiUrl, token }: { apiUrl: string; token?: string | undefined },
  proxyKey?: string,
): Octokit {
  const octokit = new Octokit({
    baseUrl: apiUrl,
    userAgent: 'anton-runner',
    ...(token ? { auth: token } : {}),
  });
  const headers = keyHeaders(proxyKey);
  octokit.hook.before('request', (options) => {
    Object.assign(options.headers, headers);
  });
  return octokit;
}

/** The three outside services of a run, as configured (direct, or through the credential proxy with the run's key). */
export function apiClients(
  config: RunnerConfig,
  proxyKey?: string,
): {
  createMessage: CreateMessage;
  reviewer: Reviewer;
  octokit: Octokit;
} {
  return {
    createMessage: anthropicMessages(config.anthropic, config.api, proxyKey),
    reviewer: createReviewer(openaiClient(config.openai, config.api, proxyKey), config.reviewer),
    octokit: githubClient(config.github, proxyKey),
  };
}
