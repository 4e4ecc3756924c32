import { z } from 'zod';

/** Checked forms of the configuration values that reach the Job template. */
export const DnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label');

export const ImageReference = z
  .string()
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, 'must be an image reference');

export const UpstreamUrl = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .regex(/^[^\s"'\\]+$/, 'must not hold spaces, quotes or backslashes');

/** The credential proxy's upstreams, named as the proxy's environment names them. */
export const UPSTREAM_NAMES = ['ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL', 'GITHUB_API_URL', 'GITHUB_GIT_URL'] as const;
export type UpstreamName = (typeof UPSTREAM_NAMES)[number];
