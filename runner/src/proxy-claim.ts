import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLAIM_PATH, PROXY_KEY_HEADER } from './credential-proxy/protocol.ts';
import { PermanentFailure } from './errors.ts';

/** The run's proxy key: made in memory, never written anywhere (credential-proxy/protocol.ts). */
export function newProxyKey(): string {
  return randomBytes(32).toString('base64url');
}

const ATTEMPTS = 20;

/**
 * Claims the credential proxy for this run, before any agent process exists, so the first claim
 * is this one. A proxy already claimed means something else got there first: the run stops.
 * Connection errors are retried briefly (a proxy still starting).
 */
export async function claimProxy(
  proxyUrl: string,
  key: string,
  branch: string,
  retryDelayMs = 250,
): Promise<{ budgetUsd: number | undefined }> {
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(`${proxyUrl.replace(/\/+$/, '')}${CLAIM_PATH}`, {
        method: 'POST',
        headers: { [PROXY_KEY_HEADER]: key, 'content-type': 'application/json' },
        body: JSON.stringify({ branch }),
      });
    } catch (err) {
      if (attempt >= ATTEMPTS) throw new Error(`cannot reach the credential proxy: ${(err as Error).message}`);
      await sleep(retryDelayMs);
      continue;
    }
    const text = await response.text();
    if (response.ok) {
      // The budget the proxy enforces (scaled by the orchestrator): the runner counts against that one.
      let budget: unknown;
      try {
        budget = (JSON.parse(text) as { budget_usd?: unknown }).budget_usd;
      } catch {
        budget = undefined;
      }
      return { budgetUsd: typeof budget === 'number' && budget > 0 ? budget : undefined };
    }
    throw new PermanentFailure(`the credential proxy refused this run's claim (${response.status}): ${text}`);
  }
}
