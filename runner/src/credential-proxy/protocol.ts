/**
 * What the runner and its credential proxy agree on. The runner makes a key in memory at start,
 * before any agent process exists, and claims the proxy with it once (first claim wins); every
 * later request must carry it. The agent never has it: it is in no environment and no file, and
 * the runner's memory and its git's environment belong to another uid than the agent's.
 */
export const PROXY_KEY_HEADER = 'x-anton-proxy-key';
/** On a push: the value the runner expects the branch to have now (zeros: it must not exist). */
export const PUSH_LEASE_HEADER = 'x-anton-push-lease';
/** POST, with the key header and `{"branch": "fix/<id>"}`: the one branch pushes may update. */
export const CLAIM_PATH = '/anton/claim';
export const ZERO_OID = '0'.repeat(40);

/** 32 random bytes, base64url. */
export const PROXY_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** What workspace/branch-name.ts makes. */
export const BRANCH_PATTERN = /^fix\/[A-Za-z0-9_-]{1,64}$/;
