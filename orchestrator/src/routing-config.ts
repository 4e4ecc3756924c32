import { readFile } from 'node:fs/promises';
import { BranchName, RepositoryUrl, TemplateId } from '@anton/contracts';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { httpsRepository } from './repository-url.ts';

const Keys = z.array(z.string().min(1).max(200)).default([]);

/** One repository and what selects it. */
export const RoutingEntry = z.strictObject({
  url: RepositoryUrl.refine((url) => httpsRepository(url) !== undefined, {
    message: 'must be an https URL, or an ssh form of one (git@host:owner/repo.git)',
  }),
  base_branch: BranchName.default('main'),
  /** JIRA project keys (the part of an issue key before the dash). */
  jira_projects: Keys,
  /** Values of Datadog's `service:` tag. */
  datadog_services: Keys,
  /** SonarCloud / SonarQube project keys. */
  sonar_projects: Keys,
  /** Forces the runner template for this repository, whatever the router says. */
  template: TemplateId.optional(),
  /** The repository's main languages, used by the rule-based router when Claude is unavailable. */
  languages: z.array(z.string().min(1).max(40)).max(20).default([]),
  /** Extra instructions for the agent (how to build, where the tests are). */
  instructions: z.string().min(1).max(4000).optional(),
});
export type RoutingEntry = z.infer<typeof RoutingEntry>;

export const RoutingConfig = z.strictObject({
  repositories: z.array(RoutingEntry).default([]),
});
export type RoutingConfig = z.infer<typeof RoutingConfig>;

export const EMPTY_ROUTING_CONFIG: RoutingConfig = { repositories: [] };

export class RoutingConfigError extends Error {
  override name = 'RoutingConfigError';
}

const SELECTORS = ['jira_projects', 'datadog_services', 'sonar_projects'] as const;

/**
 * Parses ROUTING_CONFIG. Every error names the line it is on (`routing.yaml:7: repositories.1.url: …`),
 * found through the YAML document's node ranges, because an operator editing a long file needs to
 * know where, not only what.
 */
export function parseRoutingConfig(text: string, file = 'ROUTING_CONFIG'): RoutingConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;

  const syntax = doc.errors[0];
  if (syntax) throw new RoutingConfigError(`${file}:${lineOf(syntax.pos[0])}: ${syntax.message.split('\n')[0]}`);

  // The nearest node that exists on the path: a missing key is reported on its parent's line.
  const lineOfPath = (path: readonly PropertyKey[]): number => {
    for (let depth = path.length; depth >= 0; depth -= 1) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineOf(node.range[0]);
    }
    return 1;
  };

  const result = RoutingConfig.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      return `${file}:${lineOfPath(issue.path)}: ${path ? `${path}: ` : ''}${issue.message}`;
    });
    throw new RoutingConfigError(messages.join('\n'));
  }

  // A key mapped to two repositories would make routing depend on the order of the file.
  const seen = new Map<string, number>();
  const duplicates: string[] = [];
  result.data.repositories.forEach((entry, index) => {
    for (const selector of SELECTORS) {
      entry[selector].forEach((key, position) => {
        const id = `${selector}:${key}`;
        const first = seen.get(id);
        const line = lineOfPath(['repositories', index, selector, position]);
        if (first === undefined) seen.set(id, line);
        else duplicates.push(`${file}:${line}: ${selector} "${key}" is already mapped on line ${first}`);
      });
    }
  });
  if (duplicates.length > 0) throw new RoutingConfigError(duplicates.join('\n'));
  return result.data;
}

/** Reads and parses the file named by ROUTING_CONFIG; no file configured means an empty map. */
export async function loadRoutingConfig(path: string | undefined): Promise<RoutingConfig> {
  if (path === undefined) return EMPTY_ROUTING_CONFIG;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RoutingConfigError(`ROUTING_CONFIG ${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseRoutingConfig(text, path);
}
