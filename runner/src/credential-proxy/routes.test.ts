import { describe, expect, it } from 'vitest';
import { loadProxyConfig } from './config.ts';
import { decideRoute } from './routes.ts';

const config = loadProxyConfig({
  ANTHROPIC_API_KEY: 'sk-ant-real',
  OPENAI_API_KEY: 'sk-openai-real',
  GITHUB_TOKEN: 'ghs_real',
  ALLOWED_REPOSITORY: 'https://github.com/acme/shop.git',
});
const claim = { branch: 'fix/SHOP-1' };

function allowed(method: string, url: string) {
  const decision = decideRoute(method, url, config, claim);
  if (!('allowed' in decision)) throw new Error(`denied: ${decision.denied}`);
  return decision.allowed;
}

function denied(method: string, url: string): string {
  const decision = decideRoute(method, url, config, claim);
  if ('allowed' in decision) throw new Error(`allowed: ${decision.allowed.upstream}`);
  return decision.denied;
}

describe('decideRoute', () => {
  it('sends Anthropic messages upstream with x-api-key', () => {
    const route = allowed('POST', '/anthropic/v1/messages');
    expect(route.upstream.href).toBe('https://api.anthropic.com/v1/messages');
    expect(route.credential).toEqual(['x-api-key', 'sk-ant-real']);
    expect(route.body).toBeDefined();
  });

  it('sends OpenAI chat completions upstream with a bearer token', () => {
    const route = allowed('POST', '/openai/v1/chat/completions');
    expect(route.upstream.href).toBe('https://api.openai.com/v1/chat/completions');
    expect(route.credential).toEqual(['authorization', 'Bearer sk-openai-real']);
  });

  it("sends the allowed repository's pull requests to GitHub with the token, query kept", () => {
    const route = allowed('GET', '/github/repos/acme/shop/pulls?head=acme%3Afix%2FX&state=open');
    expect(route.upstream.href).toBe('https://api.github.com/repos/acme/shop/pulls?head=acme%3Afix%2FX&state=open');
    expect(route.credential).toEqual(['authorization', 'token ghs_real']);
    expect(route.body).toBeUndefined();
    expect(allowed('PATCH', '/github/repos/acme/shop/pulls/3').body).toBeDefined();
    expect(allowed('POST', '/github/repos/acme/shop/pulls').body).toBeDefined();
  });

  it("sends the allowed repository's smart-HTTP git to its server with Basic auth", () => {
    const refs = allowed('GET', '/git/github.com/acme/shop.git/info/refs?service=git-upload-pack');
    expect(refs.upstream.href).toBe('https://github.com/acme/shop.git/info/refs?service=git-upload-pack');
    expect(refs.credential).toEqual([
      'authorization',
      `Basic ${Buffer.from('x-access-token:ghs_real').toString('base64')}`,
    ]);
    expect(refs.receivePack).toBe(false);
    expect(allowed('POST', '/git/github.com/acme/shop/git-upload-pack').upstream.href).toBe(
      'https://github.com/acme/shop.git/git-upload-pack',
    );
    expect(allowed('POST', '/git/github.com/acme/shop.git/git-receive-pack').receivePack).toBe(true);
  });

  it.each([
    ['GET', '/anthropic/v1/models'],
    ['POST', '/anthropic/v1/files'],
    ['POST', '/anthropic/v1/messages/count_tokens'],
    ['POST', '/anthropic/v1/messages/batches'],
    ['POST', '/anthropic/v1/messages?beta=true'],
    ['POST', '/github/repos/acme/shop/pulls/3/reviews'],
    ['PUT', '/github/repos/acme/shop/pulls/3/merge'],
    ['POST', '/github/repos/acme/shop/issues/3/comments'],
    ['POST', '/github/repos/acme/shop/issues/3/labels'],
    ['POST', '/github/repos/acme/shop/issues'],
    ['GET', '/github/repos/acme/shop/pulls/3'],
    ['GET', '/anthropic/v1/messages'],
    ['POST', '/openai/v1/embeddings'],
    ['POST', '/openai/v1/files'],
    ['GET', '/github/user'],
    ['GET', '/github/repos/acme/other/pulls'],
    ['DELETE', '/github/repos/acme/shop/pulls/1'],
    ['PUT', '/github/repos/acme/shop/contents/README.md'],
    ['GET', '/github/repos/acme/shop'],
    ['GET', '/github/repos/acme/shop/actions/secrets'],
    ['GET', '/github/repos/acme/shop/pulls/../../../user'],
    ['GET', '/github/repos/acme/shop/pulls/%2e%2e/%2e%2e/x'],
    ['GET', '/git/github.com/acme/other.git/info/refs?service=git-upload-pack'],
    ['GET', '/git/evil.example/acme/shop.git/info/refs?service=git-upload-pack'],
    ['GET', '/git/github.com/acme/shop.git/info/refs?service=git-upload-archive'],
    ['GET', '/git/github.com/acme/shop.git/HEAD'],
    ['GET', '/git/github.com/acme/shop.git-evil/info/refs?service=git-upload-pack'],
    ['GET', '/'],
    ['GET', '/metadata/v1/token'],
  ])('refuses %s %s', (method, url) => {
    expect(denied(method, url)).toBeTruthy();
  });
});
