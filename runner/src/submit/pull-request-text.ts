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
  review: { model: string; rounds: number; reason: string };
  testRuns: readonly ShellRecord[];
  coder: { model: string; turns: number };
  usage: RunUsage;
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
  return `## Summary

${summary.trim()}

**Issue:** ${issue}

## Review

Approved by ${facts.review.model} after ${facts.review.rounds} review round${facts.review.rounds === 1 ? '' : 's'}: ${facts.review.reason}

## Tests run by the agent

${tests}

## Token usage

| | input | cache read | cache write | output |
|---|---:|---:|---:|---:|
| coder (${facts.coder.model}, ${facts.coder.turns} turns) | ${n(coder.input_tokens)} | ${n(coder.cache_read_input_tokens)} | ${n(coder.cache_creation_input_tokens)} | ${n(coder.output_tokens)} |
| reviewer (${facts.review.model}) | ${n(reviewer.input_tokens)} | ${n(reviewer.cache_read_input_tokens)} | ${n(reviewer.cache_creation_input_tokens)} | ${n(reviewer.output_tokens)} |

---
Automated by anton
`;
}
