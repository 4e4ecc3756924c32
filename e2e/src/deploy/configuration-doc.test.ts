import { readFileSync } from 'node:fs';
import { ENV_VARIABLES as ingester } from '@anton/ingester/config';
import { ENV_VARIABLES as orchestrator } from '@anton/orchestrator/config';
import { describe, expect, it } from 'vitest';
// The runner is no dependency of this suite (its image is its own); its config modules are plain source.
import { ENV_VARIABLES as runner } from '../../../runner/src/config.ts';
import { ENV_VARIABLES as proxy } from '../../../runner/src/credential-proxy/config.ts';

const docPath = new URL('../../../docs/configuration.md', import.meta.url);

/** Per `## <service>` section of the doc: the variables its tables' first column names. */
function documentedVariables(markdown: string): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) {
      current = new Set();
      sections.set((heading[1] ?? '').trim().toLowerCase(), current);
      continue;
    }
    if (!current || !line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const [, name = ''] of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) current.add(name);
  }
  return sections;
}

const services = { ingester, orchestrator, runner, 'credential proxy': proxy };

describe('docs/configuration.md', () => {
  const sections = documentedVariables(readFileSync(docPath, 'utf8'));

  it.each(Object.entries(services))('lists exactly the variables the %s config reads', (service, read) => {
    const documented = sections.get(service);
    expect(documented, `a "## ${service}" section`).toBeDefined();
    const missing = read.filter((name) => !documented?.has(name));
    const unknown = [...(documented ?? [])].filter((name) => !read.includes(name));
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });
});
