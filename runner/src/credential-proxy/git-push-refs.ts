/**
 * Reads the ref-update commands at the start of a `git-receive-pack` request (pkt-lines up to the
 * first flush, after any `shallow` lines a shallow clone sends) so the proxy can refuse any push
 * but the one the runner means: its own branch, created, or moved from the value it declared.
 */

/** The command section is a few lines; anything larger is not a push anton makes. */
export const MAX_COMMAND_BYTES = 64 * 1024;

const ZERO_OID = /^0+$/;

export interface RefUpdate {
  oldOid: string;
  newOid: string;
  ref: string;
}

export type CommandParse =
  | { state: 'incomplete' }
  | { state: 'done'; updates: RefUpdate[] }
  | { state: 'invalid'; reason: string };

/** Parses the command list from the bytes received so far. */
export function parsePushCommands(buffer: Buffer): CommandParse {
  const updates: RefUpdate[] = [];
  let offset = 0;
  for (;;) {
    if (buffer.length < offset + 4) return incompleteOrTooLarge(buffer);
    const lengthText = buffer.toString('latin1', offset, offset + 4);
    if (!/^[0-9a-f]{4}$/i.test(lengthText)) return { state: 'invalid', reason: 'not a pkt-line stream' };
    const length = Number.parseInt(lengthText, 16);
    if (length === 0) {
      return updates.length > 0 ? { state: 'done', updates } : { state: 'invalid', reason: 'no ref update' };
    }
    if (length < 4) return { state: 'invalid', reason: 'bad pkt-line length' };
    if (buffer.length < offset + length) return incompleteOrTooLarge(buffer);
    const line = buffer
      .toString('utf8', offset + 4, offset + length)
      .split('\0')[0]
      ?.replace(/\n$/, '');
    offset += length;
    if (line === undefined || line.startsWith('shallow ')) continue;
    const [oldOid, newOid, ref] = line.split(' ');
    if (!oldOid || !newOid || !ref) return { state: 'invalid', reason: 'bad ref update' };
    updates.push({ oldOid, newOid, ref });
  }
}

function incompleteOrTooLarge(buffer: Buffer): CommandParse {
  return buffer.length > MAX_COMMAND_BYTES
    ? { state: 'invalid', reason: 'push command list too large' }
    : { state: 'incomplete' };
}

export interface IntendedPush {
  /** The run's branch, `fix/<id>`. */
  branch: string;
  /** The value the runner expects the branch to have (zeros: absent); undefined: not declared. */
  lease: string | undefined;
}

/**
 * Why a push is refused, or undefined when it is the one update the runner intends: its branch,
 * to a commit, from the value it declared. So no tag, no other branch, no delete, and no forced
 * update over a value the runner did not see.
 */
export function refusePush(updates: readonly RefUpdate[], intended: IntendedPush): string | undefined {
  const ref = `refs/heads/${intended.branch}`;
  if (updates.length !== 1) return `a push updates exactly one ref, ${ref}`;
  const [update] = updates as [RefUpdate];
  if (update.ref !== ref) return `pushes may only update ${ref} (not ${update.ref})`;
  if (ZERO_OID.test(update.newOid)) return `pushes may not delete ${ref}`;
  if (!ZERO_OID.test(update.oldOid) && update.oldOid !== intended.lease) {
    return `${ref} is at ${update.oldOid}, which the runner did not declare: no forced update over it`;
  }
  return undefined;
}
