import type { RunUsage } from '@anton/contracts';
import type { ShellRecord } from '../tools/tool.ts';

const TITLE_SUMMARY_CHARS = 60;
/** The body stays far below GitHub's 65,536-character limit whatever the model wrote. */
const BODY_SUMMARY_CHARS = 8_000;
const LISTED_TEST_RUNS = 10;

export interface PullRequestFacts {
  issueId: string;
  issueUrl?: string | undefined;
  summary: string;
  /** The reviewer's last verdict; none when the run ended before any review. */
  review: { model: string; rounds: number; approved: boolean; reason: string; problems: readonly string[] } | undefined;
  testRuns: readonly ShellRecord[];
  /** The runner's own test run after the submission (evidenceText): command, exit code, output tail. */
  verification?: string;
  coder: { model: string; turns: number };
  usage: RunUsage;
  costUsd: number;
  budgetUsd?: number | undefined;
  /** Why the work is unfinished (budget, turns or review rounds ran out): a draft that says so. */
  unfinished?: string;
}

function firstLine(summary: string): string {
  return (summary.split('\n').find((line) => line.trim() !== '') ?? summary).trim();
}

/** The original's title: `fix(<issue id>): <summary, 60 chars>`. */
export function pullRequestTitle(issueId: string, summary: string): string {
  return `fix(${issueId}): ${firstLine(summary).slice(0, TITLE_SUMMARY_CHARS).trimEnd()}`;
}

/** The original's commit message form: `fix(<issue>): <summary>`, the full summary as the body. */
export function commitMessage(issueId: string, summary: string): string {
  const title = `fix(${issueId}): ${firstLine(summary)}`;
  const rest = summary.trim().split('\n').slice(1).join('\n').trim();
  return rest ? `${title}\n\n${rest}\n` : `${title}\n`;
}

function testLine({ command, exitCode, timedOut }: ShellRecord): string {
  const outcome = timedOut ? 'timed out' : exitCode === 0 ? 'passed' : `failed (exit code ${exitCode ?? 'none'})`;
  return `- \`${command.replace(/`/g, "'").replace(/\s+/g, ' ').slice(0, 200)}\`: ${outcome}`;
}

const n = (value: number) => value.toLocaleString('en-US');
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function reviewText(review: PullRequestFacts['review']): string {
  if (!review) return '_No review: the run ended before the reviewer saw the change._';
  const rounds = `after ${plural(review.rounds, 'review round')}`;
  if (review.approved) return `Approved by ${review.model} ${rounds}: ${review.reason}`;
  const points = review.problems.map((problem) => `- ${problem}`).join('\n');
  return `Not approved by ${review.model} ${rounds}: ${review.reason}${points ? `\n\nOpen points:\n${points}` : ''}`;
}

function unfinishedText(facts: PullRequestFacts, reason: string): string {
  const last = facts.testRuns.at(-1);
  const points = facts.review && !facts.review.approved ? facts.review.problems : [];
  return `## Unfinished

This draft holds the change as it stood when ${reason}. It is not ready to merge.

- **The reviewer's open points:** ${points.length === 0 ? (facts.review ? 'none listed' : 'not reviewed') : `\n${points.map((p) => `  - ${p}`).join('\n')}`}
- **The last test run:** ${last ? testLine(last).slice(2) : 'none'}

`;
}

/**
 * What was wrong and what changed first (the coder's summary), then what is unfinished (drafts of
 * unfinished work), the evidence, the reviewer's verdict and the source; the token and cost figures
 * last, folded away.
 */
export function pullRequestBody(facts: PullRequestFacts): string {
  const { coder, reviewer } = facts.usage;
  const issue = facts.issueUrl ? `[${facts.issueId}](${facts.issueUrl})` : facts.issueId;
  const runs = facts.testRuns.slice(-LISTED_TEST_RUNS);
  const tests =
    runs.length === 0
      ? '_The agent ran no test command._'
      : [
          ...(facts.testRuns.length > runs.length ? [`(last ${runs.length} of ${facts.testRuns.length})`] : []),
          ...runs.map(testLine),
        ].join('\n');
  const summary =
    facts.summary.length > BODY_SUMMARY_CHARS ? `${facts.summary.slice(0, BODY_SUMMARY_CHARS)}…` : facts.summary;
  const reviewerModel = facts.review?.model ?? 'reviewer';
  const budget = facts.budgetUsd !== undefined ? ` of a $${facts.budgetUsd.toFixed(2)} budget` : '';
  return `## What was wrong and what changed

${summary.trim()}

${facts.unfinished ? unfinishedText(facts, facts.unfinished) : ''}${facts.verification ? `## Evidence: the runner's test run\n\n${facts.verification}\n\n` : ''}## Evidence: tests run by the agent

${tests}

## Review

${reviewText(facts.review)}

**Source:** ${issue}

<details>
<summary>Tokens and cost: $${facts.costUsd.toFixed(4)}${budget}</summary>

| | input | cache read | cache write | output |
|---|---:|---:|---:|---:|
| coder (${facts.coder.model}, ${plural(facts.coder.turns, 'turn')}) | ${n(coder.input_tokens)} | ${n(coder.cache_read_input_tokens)} | ${n(coder.cache_creation_input_tokens)} | ${n(coder.output_tokens)} |
| reviewer (${reviewerModel}) | ${n(reviewer.input_tokens)} | ${n(reviewer.cache_read_input_tokens)} | ${n(reviewer.cache_creation_input_tokens)} | ${n(reviewer.output_tokens)} |

</details>

---
Automated by anton
`;
}
