import { readFile } from 'node:fs/promises';
import { BranchName, DEFAULT_GITHUB_API_URL, githubGitOrigin, TemplateId } from '@anton/contracts';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { parseRepositoryPattern } from './allowed-repositories.ts';
import { configuredRepository } from './repository-url.ts';

const Keys = z.array(z.string().min(1).max(200)).default([]);

/**
 * ROUTING_CONFIG's schema for one git host: it is the allowlist of what anton works on, so every
 * repository in it is checked against the GitHub host the operator configured.
 */
function routingConfigSchema(gitOrigin: string) {
  const url = z
    .string()
    .max(500)
    .transform((value, ctx) => {
      const check = configuredRepository(value, gitOrigin);
      if (check.ok) return check.repository.url;
      ctx.addIssue({ code: 'custom', message: check.problem });
      return z.NEVER;
    });
  const pattern = z.string().transform((value, ctx) => {
    const check = parseRepositoryPattern(value, gitOrigin);
    if (check.ok) return check.pattern;
    ctx.addIssue({ code: 'custom', message: check.problem });
    return z.NEVER;
  });
  /** One repository and what selects it. */
  const entry = z.strictObject({
    url,
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
    /** The command that runs the repository's tests, when the runner's detection would get it wrong. */
    test_command: z.string().min(1).max(500).optional(),
  });
  return z.strictObject({
    repositories: z.array(entry).default([]),
    /** Repositories a payload may name besides the entries: `host/owner/*` or `host/owner/repo`. */
    allowed_repositories: z.array(pattern).default([]),
  });
}

type RoutingFile = z.output<ReturnType<typeof routingConfigSchema>>;
export type RoutingEntry = RoutingFile['repositories'][number];
export interface RoutingConfig extends RoutingFile {
  /** The GitHub git host everything above is on (GITHUB_API_URL's, or GITHUB_GIT_URL). */
  gitOrigin: string;
}

export function emptyRoutingConfig(gitOrigin: string): RoutingConfig {
  return { repositories: [], allowed_repositories: [], gitOrigin };
}

export interface RoutingConfigOptions {
  /** Named in every error (default `ROUTING_CONFIG`). */
  file?: string;
  /** The GitHub git host (default github.com's, as for the default GITHUB_API_URL). */
  gitOrigin?: string;
}

export class RoutingConfigError extends Error {
  override name = 'RoutingConfigError';
}

const SELECTORS = ['jira_projects', 'datadog_services', 'sonar_projects'] as const;

/**
 * Parses ROUTING_CONFIG. Every error names the line it is on (`routing.yaml:7: repositories.1.url: …`),
 * found through the YAML document's node ranges, because an operator editing a long file needs to
 * know where, not only what.
 */
export function parseRoutingConfig(text: string, options: RoutingConfigOptions = {}): RoutingConfig {
  const { file = 'ROUTING_CONFIG', gitOrigin = githubGitOrigin(DEFAULT_GITHUB_API_URL) } = options;
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

  const result = routingConfigSchema(gitOrigin).safeParse(doc.toJS() ?? {});
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
  return { ...result.data, gitOrigin };
}

/** Reads and parses the file named by ROUTING_CONFIG; no file configured means an empty map. */
export async function loadRoutingConfig(path: string | undefined, gitOrigin: string): Promise<RoutingConfig> {
  if (path === undefined) return emptyRoutingConfig(gitOrigin);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RoutingConfigError(`ROUTING_CONFIG ${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseRoutingConfig(text, { file: path, gitOrigin });
}
