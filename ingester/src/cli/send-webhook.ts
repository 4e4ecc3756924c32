/**
 * Sends a payload file to a running ingester the way its source would: signed with the source's
 * own scheme, then prints the reply. For people checking their setup by hand.
 *
 *   pnpm --filter @anton/ingester send <jira|datadog|sonar> <payload.json> [--url URL] [--secret S] [--form]
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { env, parseEnv } from '@anton/contracts';
import { z } from 'zod';
import { DEV_WEBHOOK_SECRET } from '../config.ts';
import { createSourceRegistry } from '../sources/registry.ts';

const USAGE = 'usage: send <jira|datadog|sonar> <payload.json> [--url http://localhost:8000] [--secret S] [--form]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://localhost:8000' },
      secret: { type: 'string' },
      form: { type: 'boolean', default: false },
    },
  });
  const [path, file] = positionals;
  const sources = Object.values(createSourceRegistry({ jira: { triggerLabel: undefined, triggerStatuses: [] } }));
  const source = sources.find((candidate) => candidate.path === path);
  if (!source || !file) {
    console.error(USAGE);
    return 2;
  }
  if (values.form && !source.encodings.includes('form')) {
    console.error(`${path} webhooks are JSON only`);
    return 2;
  }
  // pnpm runs the script in the package directory; INIT_CWD is where the user typed the command.
  const vars = parseEnv(z.object({ WEBHOOK_SECRET: env.optional, INIT_CWD: env.optional }), process.env);
  const secret = values.secret ?? vars.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET;

  const json = await readFile(resolve(vars.INIT_CWD ?? process.cwd(), file));
  // JSON is sent byte for byte as written; form encoding flattens the object's top-level fields.
  const body = values.form
    ? Buffer.from(new URLSearchParams(formFields(JSON.parse(json.toString('utf8')))).toString())
    : json;
  const contentType = values.form ? 'application/x-www-form-urlencoded' : 'application/json';
  const url = new URL(`/webhooks/${source.path}`, values.url);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...source.sign(body, secret) },
    body,
  });
  console.log(`${response.status} ${response.statusText}`);
  console.log(await response.text());
  return response.ok ? 0 : 1;
}

function formFields(payload: unknown): Record<string, string> {
  if (typeof payload !== 'object' || payload === null) throw new Error('the payload file must hold a JSON object');
  return Object.fromEntries(
    Object.entries(payload).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
