import type { TemplateId } from '@anton/contracts';

/**
 * Which runner image each template's agent runs in: the toolchains its repositories need
 * (runner/Dockerfile builds one target per kind). By default each is AGENT_IMAGE's repository with
 * the kind's suffix and AGENT_IMAGE's tag (`registry/anton-runner:1.2` gives
 * `registry/anton-runner-java:1.2`), so one variable names the registry and version of all;
 * `AGENT_IMAGE_<TEMPLATE>` overrides one.
 */
export const TOOLCHAIN_SUFFIX: Record<TemplateId, string> = {
  'react-frontend': '-node',
  'python-backend': '-python',
  'java-backend': '-java',
  'general-research': '',
};

/** The variable that overrides each template's image. */
export const AGENT_IMAGE_VARIABLE = {
  'react-frontend': 'AGENT_IMAGE_REACT_FRONTEND',
  'python-backend': 'AGENT_IMAGE_PYTHON_BACKEND',
  'java-backend': 'AGENT_IMAGE_JAVA_BACKEND',
  'general-research': 'AGENT_IMAGE_GENERAL_RESEARCH',
} as const satisfies Record<TemplateId, `AGENT_IMAGE_${string}`>;

/**
 * AGENT_IMAGE's repository with `suffix`, at its tag; undefined for a reference pinned by digest
 * (the digest names one image, so a toolchain image's digest must be given).
 */
export function toolchainImage(runnerImage: string, suffix: string): string | undefined {
  if (suffix === '') return runnerImage;
  if (runnerImage.includes('@')) return undefined;
  // A tag follows the last ':' after the last '/' (a ':' before it is a registry's port).
  const slash = runnerImage.lastIndexOf('/');
  const colon = runnerImage.lastIndexOf(':');
  return colon > slash
    ? `${runnerImage.slice(0, colon)}${suffix}${runnerImage.slice(colon)}`
    : `${runnerImage}${suffix}`;
}
