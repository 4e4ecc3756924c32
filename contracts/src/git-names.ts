import { z } from 'zod';

/**
 * A repository the runner may clone. Only URL forms git understands without extra transports, and
 * nothing starting with "-" (which git would read as an option).
 */
export const RepositoryUrl = z
  .string()
  .max(500)
  .regex(
    /^(?:(?:https?|ssh|git|file):\/\/[^\s]+|[\w.-]+@[\w.-]+:[\w./~-]+)$/,
    'must be an http(s), ssh, git or file URL, or user@host:path',
  );

/** A branch name safe to hand to git: git's ref rules, narrowed to a portable character set. */
export const BranchName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]+$/, 'must be a valid git branch name');
