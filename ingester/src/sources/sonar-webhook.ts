import { BranchName, type Priority } from '@anton/contracts';
import { z } from 'zod';
import { headerValue, hmacSha256Hex, sharedSecretMatches, verifyHmacSha256 } from '../webhook-auth.ts';
import { interpretWith, type TaskDraft, textValue, type WebhookSource } from './webhook-source.ts';

const SIGNATURE_HEADER = 'x-sonar-webhook-hmac-sha256';

/**
 * Scanner parameters `sonar.analysis.*` reach the webhook's `properties`, so an analysis run with
 * `-Dsonar.analysis.repository=<clone url>` tells anton which repository to fix.
 */
const REPOSITORY_PROPERTY = 'sonar.analysis.repository';

const Condition = z.looseObject({
  metric: z.string(),
  operator: z.string().optional(),
  value: textValue.optional(),
  status: z.string(),
  errorThreshold: textValue.optional(),
});

export const SonarPayload = z.looseObject({
  serverUrl: z.string().optional(),
  taskId: z.string().min(1).optional(),
  /** The background task's status (SUCCESS, FAILED, CANCELLED), not the gate's. */
  status: z.string(),
  revision: z.string().optional(),
  project: z.looseObject({ key: z.string().min(1), name: z.string().optional(), url: z.string().optional() }),
  branch: z
    .looseObject({ name: z.string().min(1), type: z.string().optional(), url: z.string().optional() })
    .optional(),
  qualityGate: z
    .looseObject({ name: z.string().optional(), status: z.string(), conditions: z.array(Condition).default([]) })
    .optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});
export type SonarPayload = z.output<typeof SonarPayload>;

const FAILING = new Set(['ERROR', 'WARN']);

/**
 * Only a failing gate of a successful analysis starts work. A FAILED or CANCELLED task has no gate
 * at all: the analysis itself broke (scanner, configuration, infrastructure), which is not a code
 * defect an agent can fix, and Sonar shows it to whoever ran the analysis.
 */
export function sonarIgnoreReason(payload: SonarPayload): string | undefined {
  if (payload.status !== 'SUCCESS') {
    return `analysis task ${payload.status}: no quality gate was computed, so there is no code to fix`;
  }
  const gate = payload.qualityGate?.status;
  if (gate === undefined) return 'no quality gate in the analysis';
  if (!FAILING.has(gate)) return `quality gate ${gate === 'OK' ? 'passed' : gate}`;
  return undefined;
}

/** The original's rule. Through the filter above only ERROR and WARN reach it; the rest is kept as written. */
export function sonarPriority(payload: SonarPayload): Priority {
  if (payload.status === 'FAILED' || payload.status === 'CANCELLED') return 'P1';
  const byGate: Record<string, Priority> = { ERROR: 'P2', WARN: 'P3', OK: 'P4' };
  return byGate[payload.qualityGate?.status ?? ''] ?? 'P3';
}

interface Analysed {
  text: string;
  label: Record<string, string>;
  key: string;
  /** What the task is called (`<project>@<branch>`, `<project>@pr-<key>`): the runner's branch and PR title read it. */
  id: string;
  /** A branch analysis is cloned and fixed on that branch; a PR's head branch only the Sonar API knows. */
  baseBranch?: string;
}

function where(payload: SonarPayload): Analysed {
  const { branch, project } = payload;
  if (!branch) return { text: '', label: {}, key: '', id: project.key };
  if (branch.type === 'PULL_REQUEST') {
    return {
      text: `, pull request ${branch.name}`,
      label: { pull_request: branch.name },
      key: `:pr:${branch.name}`,
      id: `${project.key}@pr-${branch.name}`,
    };
  }
  const valid = BranchName.safeParse(branch.name);
  return {
    text: `, branch ${branch.name}`,
    label: { branch: branch.name },
    key: `:branch:${branch.name}`,
    id: `${project.key}@${branch.name}`,
    ...(valid.success && { baseBranch: valid.data }),
  };
}

export function normalizeSonar(payload: SonarPayload): TaskDraft {
  const { project, qualityGate } = payload;
  const gateStatus = qualityGate?.status ?? 'NONE';
  const place = where(payload);
  const failed = (qualityGate?.conditions ?? []).filter((condition) => FAILING.has(condition.status));
  const lines = [
    `Quality gate "${qualityGate?.name ?? 'default'}" is ${gateStatus} on project ${project.name ?? project.key} (${project.key})${place.text}.`,
    payload.revision && `Revision: ${payload.revision}`,
    payload.taskId && `Analysis task: ${payload.taskId}`,
    failed.length > 0 && 'Failed conditions:',
    ...failed.map(
      (c) =>
        `- ${c.metric} is ${c.value ?? 'unknown'} (${c.status}: must not be ${c.operator ?? 'beyond'} ${c.errorThreshold ?? 'the threshold'})`,
    ),
  ];
  const repository = payload.properties?.[REPOSITORY_PROPERTY];
  const dashboard = payload.serverUrl
    ? `${payload.serverUrl}/dashboard?id=${encodeURIComponent(project.key)}`
    : undefined;
  return {
    external_id: place.id,
    title: `SonarCloud analysis: ${project.name ?? project.key}`,
    priority: sonarPriority(payload),
    event: `quality_gate_${gateStatus.toLowerCase()}`,
    description: lines.filter(Boolean).join('\n'),
    url: payload.branch?.url ?? project.url ?? dashboard,
    labels: { project: project.key, ...place.label, quality_gate: gateStatus },
    dedup_key: `sonar:${project.key}${place.key}`,
    repository: typeof repository === 'string' && repository !== '' ? repository : undefined,
    ...(place.baseBranch !== undefined && { base_branch: place.baseBranch }),
  };
}

export const sonarWebhook: WebhookSource = {
  source: 'sonarcloud',
  path: 'sonar',
  encodings: ['json'],
  // Sonar sends the bare hex digest, no `sha256=` prefix.
  authenticate: (headers, rawBody, secret) =>
    verifyHmacSha256(rawBody, secret, headerValue(headers, SIGNATURE_HEADER)) || sharedSecretMatches(headers, secret),
  sign: (rawBody, secret) => ({ [SIGNATURE_HEADER]: hmacSha256Hex(rawBody, secret) }),
  interpret: interpretWith(SonarPayload, sonarIgnoreReason, normalizeSonar),
};
