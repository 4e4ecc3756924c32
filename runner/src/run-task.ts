import { addUsage, emptyUsage, type RunnerContext, type RunUsage } from '@anton/contracts';
import type { Octokit } from '@octokit/rest';
import { CoderSession, type CreateMessage } from './coder/coder-session.ts';
import type { CoderEvent } from './coder/events.ts';
import { readRepositoryGuide } from './coder/repository-guide.ts';
import { buildSystemPrompt } from './coder/system-prompt.ts';
import { testRuns } from './coder/test-runs.ts';
import type { RunnerConfig } from './config.ts';
import { loadContext } from './context.ts';
import { isPermanentFailure, PermanentFailure } from './errors.ts';
import type { Logger } from './logger.ts';
import { claimProxy } from './proxy-claim.ts';
import type { Reviewer } from './reviewer/reviewer.ts';
import type { ReviewVerdict } from './reviewer/verdict.ts';
import { isBudgetExceeded, RunBudget, usd } from './run-budget.ts';
import { type OutcomeFacts, outcome, type RunOutcome } from './run-outcome.ts';
import { type AgentUser, assertReachableByAgent } from './shell/agent-user.ts';
import { createShellRunner } from './shell/run-shell.ts';
import { shellEnvironment } from './shell/shell-env.ts';
import { shellLimits } from './shell/shell-limits.ts';
import { commitMessage, pullRequestBody, pullRequestTitle } from './submit/pull-request-text.ts';
import { openOrUpdatePullRequest } from './submit/pull-requests.ts';
import { repositorySlug } from './submit/repository-slug.ts';
import { agentFiles } from './tools/agent-files.ts';
import { LIMITS } from './tools/output-limits.ts';
import { PathGuard } from './tools/path-guard.ts';
import { coderTools } from './tools/registry.ts';
import {
  evidenceText,
  passed,
  redVerificationMessage,
  runVerification,
  unrunnable,
  type Verification,
} from './verify/verification.ts';
import { branchNameFor } from './workspace/branch-name.ts';
import { type GitAccessMode, gitAccessFor, UnsupportedRepositoryUrl } from './workspace/git-access.ts';
import { gitEnvironment } from './workspace/run-git.ts';
import { Workspace } from './workspace/workspace.ts';

export interface RunDependencies {
  config: RunnerConfig;
  logger: Logger;
  createMessage: CreateMessage;
  reviewer: Reviewer;
  octokit: Octokit;
  signal?: AbortSignal;
  /** Set when the runner runs as root: the agent's commands and git run as this user. */
  agentUser?: AgentUser;
  /** Proxy mode: the run's key, with which the runner claims its credential proxy and calls it. */
  proxyKey?: string;
}

/** A repository file bigger than this is not read for the guide (it is cut to 8 KB anyway). */
const GUIDE_FILE_MAX_BYTES = 1024 * 1024;

/** What the run has learned so far, for the result whatever way it ends. */
class Progress {
  taskId: string | undefined;
  branch: string | undefined;
  session: CoderSession | undefined;
  reviewRounds = 0;
  reviewerUsage = emptyUsage();
  /** The runner's own test runs after a submission: set once the first submission was checked (undefined inside: no test command). */
  verification: { last: Verification | undefined } | undefined;
  /** The model that reviewed last (OPENAI_FALLBACK_MODEL once OPENAI_MODEL is gone). */
  reviewerModel: string | undefined;
  budget: RunBudget | undefined;

  constructor(taskId: string | undefined) {
    this.taskId = taskId;
  }

  get usage(): RunUsage {
    return { coder: this.session?.usage ?? emptyUsage(), reviewer: this.reviewerUsage };
  }

  facts(): OutcomeFacts {
    return {
      taskId: this.taskId,
      branch: this.branch,
      turns: this.session?.turns ?? 0,
      reviewRounds: this.reviewRounds,
      usage: this.usage,
      costUsd: this.budget?.spentUsd ?? 0,
    };
  }
}

/**
 * The runner's whole job: context → clone → rounds of (coder, reviewer) → commit, push, pull
 * request. Never throws: every ending is a RunOutcome with its exit code.
 */
export async function runTask(deps: RunDependencies): Promise<RunOutcome> {
  const progress = new Progress(deps.config.taskId);
  const loaded = await loadContext(deps.config.contextPath);
  if (!loaded.ok) return outcome('failed', progress.facts(), { reason: loaded.reason, permanent: true });
  // A hand-run runner has no TASK_ID; the context's task then names the lines.
  const contextTaskId = loaded.context.task?.task_id;
  const logger =
    progress.taskId === undefined && contextTaskId ? deps.logger.child({ task_id: contextTaskId }) : deps.logger;
  progress.taskId ??= contextTaskId;
  try {
    return await fixAndSubmit({ ...deps, logger }, loaded.context, progress);
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    logger.error({ err }, 'run failed');
    const permanent = isPermanentFailure(err) || err instanceof UnsupportedRepositoryUrl;
    return outcome('failed', progress.facts(), { reason, permanent });
  }
}

async function fixAndSubmit(deps: RunDependencies, context: RunnerContext, progress: Progress): Promise<RunOutcome> {
  const { config, logger, agentUser } = deps;
  const branch = branchNameFor(context.issue_id);
  progress.branch = branch;
  if (agentUser) await assertReachableByAgent(config.workDir);
  let gitMode: GitAccessMode;
  let budgetUsd = config.budget.usd;
  if (config.git.kind === 'proxy') {
    if (!deps.proxyKey) throw new PermanentFailure('proxy mode needs the run key');
    // Before any agent process exists: the first claim is the runner's.
    const claimed = await claimProxy(config.git.proxyUrl, deps.proxyKey, branch);
    budgetUsd = claimed.budgetUsd ?? budgetUsd;
    gitMode = { ...config.git, proxyKey: deps.proxyKey };
  } else {
    gitMode = config.git;
  }
  const budget = new RunBudget(budgetUsd, config.budget.prices);
  progress.budget = budget;
  const workspace = await Workspace.clone({
    dir: config.workDir,
    privateDir: config.stateDir,
    access: gitAccessFor(context.repo_url, gitMode),
    baseBranch: context.base_branch,
    branch,
    env: gitEnvironment(config.shell.inherited),
    ...(agentUser ? { owner: agentUser } : {}),
  });
  logger.info({ branch, base: context.base_branch, base_sha: workspace.baseSha }, 'repository cloned');
  try {
    return await codeReviewSubmit(deps, context, progress, workspace, budget);
  } finally {
    await workspace.close();
  }
}

async function codeReviewSubmit(
  deps: RunDependencies,
  context: RunnerContext,
  progress: Progress,
  workspace: Workspace,
  budget: RunBudget,
): Promise<RunOutcome> {
  const { config, logger, signal, agentUser } = deps;

  const guard = await PathGuard.create(workspace.dir);
  const guide = await readRepositoryGuide((path) => workspace.readBaseFile(path, GUIDE_FILE_MAX_BYTES), {
    testCommand: context.test_command,
  });
  logger.info(
    {
      instruction_files: guide.instructions.map((f) => f.file),
      test_command: guide.test?.command,
      lint_command: guide.lint?.command,
    },
    "read the repository's instructions",
  );
  const shell = createShellRunner({
    cwd: guard.root,
    env: { ...shellEnvironment(config.shell.inherited), ...workspace.agentGitEnv },
    timeoutMs: config.shell.timeoutMs,
    // CPU time is only a backstop behind the wall clock: sized for the longest command allowed.
    limits: shellLimits(config.shell.maxTimeoutMs),
    ...(agentUser ? { user: agentUser } : {}),
  });
  const session = new CoderSession({
    createMessage: deps.createMessage,
    model: config.coder.model,
    maxTokens: config.coder.maxTokens,
    maxTurns: config.coder.maxTurns,
    systemPrompt: buildSystemPrompt(context, {
      templateId: config.templateId,
      complexity: config.complexity,
      baseSha: workspace.baseSha,
      guide,
    }),
    tools: coderTools({
      defaultSeconds: config.shell.timeoutMs / 1000,
      maxSeconds: config.shell.maxTimeoutMs / 1000,
    }),
    toolContext: {
      guard,
      shell,
      files: agentFiles({
        env: shellEnvironment(config.shell.inherited),
        timeoutMs: LIMITS.fileTimeoutMs,
        ...(agentUser ? { user: agentUser } : {}),
      }),
      ...(signal ? { signal } : {}),
    },
    onEvent: (event) => logEvent(logger, event),
    ...(signal ? { signal } : {}),
    budget,
    verifySubmission: async () => {
      const command = guide.test?.command;
      // An empty submission ends the run as no_changes: nothing to verify.
      if ((await workspace.stagedDiff()).patch.trim() === '') return undefined;
      if (!command) {
        progress.verification = { last: undefined };
        return undefined;
      }
      const run = await runVerification(shell, command, config.shell.maxTimeoutMs, signal);
      progress.verification = { last: run };
      logger.info(
        { command, exit_code: run.exitCode, timed_out: run.timedOut },
        'verification: the tests after a submission',
      );
      return passed(run) || unrunnable(run) ? undefined : redVerificationMessage(run);
    },
  });
  progress.session = session;

  const submission = { deps, context, progress, workspace, session };
  let lastVerdict: ReviewVerdict | undefined;
  let lastSummary: string | undefined;
  for (let round = 1; round <= config.reviewer.maxRejections; round++) {
    const coded = await session.runRound();
    if (coded.kind !== 'submitted') {
      const reason =
        coded.kind === 'budget'
          ? `the task's budget of ${usd(budget.limitUsd)} is spent (${usd(budget.spentUsd)})`
          : `the coder did not call submit_changes within ${config.coder.maxTurns} turns`;
      return unfinished(submission, { reason, summary: lastSummary, verdict: lastVerdict });
    }
    lastSummary = coded.summary;
    const { patch, stat } = await workspace.stagedDiff();
    if (patch.trim() === '') {
      return outcome('no_changes', progress.facts(), { reason: 'the coder submitted without changing any file' });
    }
    let review: Awaited<ReturnType<Reviewer>>;
    try {
      review = await deps.reviewer(
        { context, diff: patch, stat, summary: coded.summary, evidence: evidenceText(progress.verification?.last) },
        signal,
      );
    } catch (err) {
      if (!isBudgetExceeded(err)) throw err;
      const reason = `the task's budget of ${usd(budget.limitUsd)} was spent before the review`;
      return unfinished(submission, { reason, summary: coded.summary, verdict: lastVerdict });
    }
    progress.reviewRounds = round;
    progress.reviewerUsage = addUsage(progress.reviewerUsage, review.usage);
    budget.add(review.model, review.usage);
    progress.reviewerModel = review.model;
    logger.info({ round, approved: review.verdict.approved, reason: review.verdict.reason }, 'review');
    if (review.verdict.approved) {
      return submit({ ...submission, summary: coded.summary, verdict: review.verdict });
    }
    lastVerdict = review.verdict;
    if (round === config.reviewer.maxRejections) {
      const reason = `rejected ${round} times; last: ${review.verdict.reason}`;
      return unfinished(submission, { reason, summary: coded.summary, verdict: review.verdict });
    }
    session.addRejection(review.verdict.reason, review.verdict.problems);
  }
  throw new PermanentFailure('MAX_REVIEW_REJECTIONS allows no review round');
}

interface Submission {
  deps: RunDependencies;
  context: RunnerContext;
  progress: Progress;
  workspace: Workspace;
  session: CoderSession;
}

/** Commit, push and the pull request, once the reviewer approved (a draft unless PR_DRAFT=false). */
async function submit({
  summary,
  verdict,
  ...submission
}: Submission & { summary: string; verdict: ReviewVerdict }): Promise<RunOutcome> {
  const pr = await pushAndOpen(submission, {
    summary,
    draft: submission.deps.config.pullRequest.draft,
    verdict,
  });
  return outcome('pr_opened', submission.progress.facts(), { prUrl: pr.url });
}

/**
 * The budget, the turns or the review rounds ran out. A change in the tree is never thrown away:
 * it is pushed as a draft pull request that says what is unfinished. Only an empty tree fails.
 */
async function unfinished(
  submission: Submission,
  { reason, summary, verdict }: { reason: string; summary: string | undefined; verdict: ReviewVerdict | undefined },
): Promise<RunOutcome> {
  const { progress, workspace, deps } = submission;
  const { patch } = await workspace.stagedDiff();
  if (patch.trim() === '') {
    return outcome('failed', progress.facts(), { reason: `${reason}, with no change made`, permanent: true });
  }
  deps.logger.info({ reason }, 'unfinished: opening a draft pull request with the change so far');
  const pr = await pushAndOpen(submission, {
    summary: summary ?? 'Unfinished fix (the coder did not submit it)',
    draft: true,
    ...(verdict ? { verdict } : {}),
    unfinished: reason,
  });
  return outcome('draft_opened', progress.facts(), { prUrl: pr.url, reason });
}

async function pushAndOpen(
  { deps, context, progress, workspace, session }: Submission,
  {
    summary,
    draft,
    verdict,
    unfinished,
  }: { summary: string; draft: boolean; verdict?: ReviewVerdict; unfinished?: string },
) {
  const { config, logger } = deps;
  const sha = await workspace.commit(commitMessage(context.issue_id, summary));
  await workspace.push();
  logger.info({ branch: workspace.branch, sha }, 'branch pushed');
  const { owner, repo } = repositorySlug(context.repo_url);
  const pr = await openOrUpdatePullRequest(deps.octokit, {
    owner,
    repo,
    head: workspace.branch,
    base: context.base_branch,
    title: pullRequestTitle(context.issue_id, summary),
    draft,
    body: pullRequestBody({
      issueId: context.issue_id,
      issueUrl: context.task?.url,
      summary,
      review: verdict
        ? {
            model: progress.reviewerModel ?? config.reviewer.model,
            rounds: progress.reviewRounds,
            approved: verdict.approved,
            reason: verdict.reason,
            problems: verdict.problems,
          }
        : undefined,
      testRuns: testRuns(session.shellCommands),
      ...(progress.verification ? { verification: evidenceText(progress.verification.last) } : {}),
      coder: { model: config.coder.model, turns: session.turns },
      usage: progress.usage,
      costUsd: progress.budget?.spentUsd ?? 0,
      budgetUsd: progress.budget?.limitUsd,
      ...(unfinished ? { unfinished } : {}),
    }),
  });
  logger.info({ pr_url: pr.url, number: pr.number, updated: pr.updated, draft }, 'pull request open');
  return pr;
}

function logEvent(logger: Logger, event: CoderEvent): void {
  if (event.type === 'turn') {
    const { type: _type, ...fields } = event;
    logger.info(fields, 'coder turn');
  } else if (event.type === 'tool') {
    logger.info(
      {
        round: event.round,
        turn: event.turn,
        tool: event.name,
        is_error: event.isError,
        ms: event.ms,
        shell: event.shell,
      },
      'tool call',
    );
  } else if (event.type === 'reminder') {
    logger.info({ round: event.round, turn: event.turn }, 'no tool call: reminded the coder');
  } else if (event.type === 'compacted') {
    logger.warn({ round: event.round, turn: event.turn }, 'prompt too long: old tool results cleared, call retried');
  } else if (event.type === 'budget') {
    const { type: _type, ...fields } = event;
    logger.info(fields, 'budget told to the coder');
  } else {
    logger.info({ round: event.round, turn: event.turn }, 'changes submitted');
  }
}
