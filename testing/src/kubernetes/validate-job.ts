import { isDeepStrictEqual } from 'node:util';
import { duplicate, invalidValue, notSupported, required, tooMany } from './field-errors.ts';
import { matchesSelectorObject } from './label-selector.ts';
import { dns1123Subdomain } from './name-rules.ts';
import type { KubeObject } from './resources.ts';
import type { FieldError } from './status.ts';
import { validateLabels, validateObjectMeta } from './validate-metadata.ts';
import { validatePodSpec } from './validate-pod-spec.ts';

// ValidateJob (pkg/apis/batch/validation/validation.go), the rules a Job manifest can break.

type Json = Record<string, unknown>;

const obj = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});
const ACTIONS = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
const OPERATORS = ['In', 'NotIn'];

function nonNegative(spec: Json, key: string): FieldError[] {
  const value = spec[key];
  return typeof value === 'number' && value < 0
    ? [invalidValue(`spec.${key}`, value, 'must be greater than or equal to 0')]
    : [];
}

function validatePodFailurePolicy(spec: Json, containerNames: Set<string>): FieldError[] {
  const errors: FieldError[] = [];
  const rules = (obj(spec.podFailurePolicy).rules as Json[] | undefined) ?? [];
  if (rules.length > 20) errors.push(tooMany('spec.podFailurePolicy.rules', rules.length, 20));
  rules.forEach((rule, i) => {
    const path = `spec.podFailurePolicy.rules[${i}]`;
    if (!rule.action) errors.push(required(`${path}.action`, `valid values: ${JSON.stringify(ACTIONS)}`));
    else if (rule.action === 'FailIndex' && spec.backoffLimitPerIndex === undefined) {
      errors.push(invalidValue(`${path}.action`, rule.action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!ACTIONS.includes(String(rule.action)))
      errors.push(notSupported(`${path}.action`, rule.action, ACTIONS));
    const onExitCodes = rule.onExitCodes as Json | undefined;
    const onPodConditions = (rule.onPodConditions as Json[] | undefined) ?? [];
    if (onExitCodes && onPodConditions.length > 0) {
      errors.push(invalidValue(path, '', 'specifying both OnExitCodes and OnPodConditions is not supported'));
    }
    if (!onExitCodes && onPodConditions.length === 0) {
      errors.push(invalidValue(path, '', 'specifying one of OnExitCodes and OnPodConditions is required'));
    }
    if (!onExitCodes) return;
    const codesPath = `${path}.onExitCodes`;
    if (!onExitCodes.operator) {
      errors.push(required(`${codesPath}.operator`, `valid values: ${JSON.stringify(OPERATORS)}`));
    } else if (!OPERATORS.includes(String(onExitCodes.operator))) {
      errors.push(notSupported(`${codesPath}.operator`, onExitCodes.operator, OPERATORS));
    }
    const containerName = onExitCodes.containerName as string | undefined;
    if (containerName !== undefined && !containerNames.has(containerName)) {
      errors.push(
        invalidValue(
          `${codesPath}.containerName`,
          containerName,
          'must be one of the container or initContainer names in the pod template',
        ),
      );
    }
    const values = (onExitCodes.values as number[] | undefined) ?? [];
    if (values.length === 0) errors.push(invalidValue(`${codesPath}.values`, values, 'at least one value is required'));
    else if (values.length > 255) errors.push(tooMany(`${codesPath}.values`, values.length, 255));
    const seen = new Set<number>();
    values.forEach((value, j) => {
      if (onExitCodes.operator === 'In' && value === 0) {
        errors.push(invalidValue(`${codesPath}.values[${j}]`, value, 'must not be 0 for the In operator'));
      }
      if (seen.has(value)) errors.push(duplicate(`${codesPath}.values[${j}]`, value));
      seen.add(value);
    });
    if (values.some((value, j) => j > 0 && (values[j - 1] ?? value) > value)) {
      errors.push(invalidValue(`${codesPath}.values`, values, 'must be ordered'));
    }
  });
  return errors;
}

export function validateJob(job: KubeObject): FieldError[] {
  const spec = obj(job.spec);
  const template = obj(spec.template);
  const podSpec = obj(template.spec);
  const errors = validateObjectMeta(job.metadata, dns1123Subdomain);
  for (const key of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
  ]) {
    errors.push(...nonNegative(spec, key));
  }
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) {
    errors.push(required('spec.completions', 'when completion mode is Indexed'));
  }
  if (!spec.selector) errors.push(required('spec.selector'));
  else if (!matchesSelectorObject(spec.selector as Json, obj(template.metadata).labels as Record<string, string>)) {
    errors.push(
      invalidValue(
        'spec.template.metadata.labels',
        obj(template.metadata).labels ?? {},
        '`selector` does not match template `labels`',
      ),
    );
  }
  const containerNames = new Set(
    [
      ...((podSpec.containers as Json[] | undefined) ?? []),
      ...((podSpec.initContainers as Json[] | undefined) ?? []),
    ].map((c) => String(c.name)),
  );
  if (spec.podFailurePolicy) errors.push(...validatePodFailurePolicy(spec, containerNames));
  if (spec.podReplacementPolicy !== undefined) {
    const allowed = spec.podFailurePolicy ? ['Failed'] : ['Failed', 'TerminatingOrFailed'];
    if (!allowed.includes(String(spec.podReplacementPolicy))) {
      errors.push(notSupported('spec.podReplacementPolicy', spec.podReplacementPolicy, allowed));
    }
  }
  errors.push(
    ...validateLabels(obj(template.metadata).labels as Record<string, string>, 'spec.template.metadata.labels'),
  );
  errors.push(...validatePodSpec(podSpec, 'spec.template.spec'));
  // The pod spec's rule allows Always; a Job's does not.
  const restartPolicy = podSpec.restartPolicy;
  const restartField = 'spec.template.spec.restartPolicy';
  if (restartPolicy === 'Always' || restartPolicy === undefined || restartPolicy === '') {
    errors.push(required(restartField, 'valid values: "OnFailure", "Never"'));
  } else if (restartPolicy !== 'OnFailure' && restartPolicy !== 'Never') {
    // Reported twice, as the server does: once by the pod spec's rule, once by the Job's.
    errors.push(notSupported(restartField, restartPolicy, ['OnFailure', 'Never']));
  } else if (spec.podFailurePolicy && restartPolicy !== 'Never') {
    errors.push(
      invalidValue(restartField, restartPolicy, 'only "Never" is supported when podFailurePolicy is specified'),
    );
  }
  return errors;
}

const IMMUTABLE_JOB_FIELDS = [
  'selector',
  'template',
  'completions',
  'completionMode',
  'podFailurePolicy',
  'manualSelector',
  'backoffLimitPerIndex',
];

/** ValidateJobUpdate: the spec fields a running Job may not change. */
export function validateJobUpdate(next: KubeObject, prev: KubeObject): FieldError[] {
  const nextSpec = obj(next.spec);
  const prevSpec = obj(prev.spec);
  return IMMUTABLE_JOB_FIELDS.filter((key) => !isDeepStrictEqual(nextSpec[key], prevSpec[key])).map((key) =>
    invalidValue(`spec.${key}`, nextSpec[key] ?? null, 'field is immutable'),
  );
}
