import { readFile } from 'node:fs/promises';

/** Who a container's processes are and what they may do, from its (and its pod's) securityContext. */
export interface ContainerIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups: the pod's fsGroup and supplementalGroups. */
  groups: number[];
  /** Capabilities left after `drop: [ALL]` and `add`, lower case without `cap_` (e.g. `setuid`). */
  capabilities: string[];
  /** `allowPrivilegeEscalation: false`: no_new_privs. */
  noNewPrivs: boolean;
}

/** The filesystem a container sees, in host paths (volumes keep their host paths; PodHostMapping). */
export interface ContainerFilesystem {
  /** This container's volume mounts. */
  binds: Array<{ path: string; readOnly: boolean }>;
  /** The pod's other volumes and containers' files: hidden under an empty, read-only tmpfs. */
  hidden: string[];
  /** The host file mounted at the container's terminationMessagePath (under /dev), if any. */
  termination?: { hostFile: string; containerPath: string };
  /** `readOnlyRootFilesystem: true`: every other mount is remounted read-only. */
  readOnlyRoot: boolean;
  /** An empty directory of the pod's, where the host's /dev is staged while /dev is rebuilt. */
  devStage: string;
}

const q = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** The devices a container runtime gives every container (runc's default set). */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * The argv that runs a command as a container of a pod runs on a node: in the pod's network
 * namespace (nsenter), in a mount namespace and a PID namespace of its own (unshare; the command
 * is PID 1 there and every process of the container dies with it), with /dev rebuilt as a runtime
 * does (a tmpfs with the standard devices and the termination-log file bind-mounted), the
 * container's volumes bound, the rest of the filesystem read-only if asked, and the process's
 * uid, gid, groups, capabilities (bounding and inheritable sets; ambient empty) and no_new_privs
 * set by setpriv right before it execs the command.
 */
export function containerArgv(
  network: { nsenterArg: string },
  identity: ContainerIdentity,
  fs: ContainerFilesystem,
  command: string[],
): string[] {
  const lines = ['set -e'];
  for (const bind of fs.binds) {
    lines.push(`/usr/bin/mount --bind ${q(bind.path)} ${q(bind.path)}`);
    if (bind.readOnly) lines.push(`/usr/bin/mount -o remount,bind,ro ${q(bind.path)}`);
  }
  for (const path of fs.hidden) lines.push(`/usr/bin/mount -t tmpfs -o ro,size=4k,mode=000 tmpfs ${q(path)}`);
  const stage = q(fs.devStage);
  lines.push(
    `/usr/bin/mount --rbind /dev ${stage}`,
    '/usr/bin/mount -t tmpfs -o nosuid,mode=755,size=64k tmpfs /dev',
    `for d in ${DEVICES.join(' ')}; do : > /dev/$d; /usr/bin/mount --bind ${stage}/$d /dev/$d; done`,
    'ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin',
    'ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr',
    'mkdir /dev/shm /dev/pts; /usr/bin/mount -t tmpfs -o nosuid,nodev,noexec,size=64m tmpfs /dev/shm',
  );
  if (fs.termination) {
    const target = q(fs.termination.containerPath);
    lines.push(`: > ${target}; /usr/bin/mount --bind ${q(fs.termination.hostFile)} ${target}`);
  }
  lines.push(`/usr/bin/umount -l ${stage}`);
  if (fs.readOnlyRoot) {
    const keep = [...fs.binds.map((bind) => bind.path), ...fs.hidden].map(q).join('|');
    lines.push(
      "/usr/bin/awk '{print $5}' /proc/self/mountinfo | /usr/bin/sort -u | while read -r mp; do",
      `  case "$mp" in /proc|/proc/*|/dev|/dev/*${keep ? `|${keep}` : ''}) continue;; esac`,
      // Other containers' storage on this host comes and goes: a mount gone meanwhile is no hole.
      '  /usr/bin/mount -o remount,bind,ro "$mp" 2>/dev/null || ! /usr/bin/mountpoint -q "$mp" ||',
      '    { echo "stand-in: cannot make $mp read-only" >&2; exit 125; }',
      'done',
    );
  }
  lines.push('exec "$@"');
  return [
    // Should the test process die, the container dies with it (unshare's --kill-child does the rest).
    '/usr/bin/setpriv',
    '--pdeathsig',
    'SIGKILL',
    '--',
    '/usr/bin/nsenter',
    network.nsenterArg,
    '--',
    '/usr/bin/unshare',
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--mount-proc',
    '--kill-child=SIGKILL',
    '--',
    '/bin/sh',
    '-c',
    lines.join('\n'),
    'container-init',
    ...setprivArgv(identity),
    ...command,
  ];
}

/** The argv that runs a command inside a running container (its namespaces, its identity): `kubectl exec`. */
export function execArgv(initPid: number, identity: ContainerIdentity, command: string[]): string[] {
  return [
    '/usr/bin/nsenter',
    '-t',
    String(initPid),
    '--mount',
    '--net',
    '--pid',
    '--',
    ...setprivArgv(identity),
    ...command,
  ];
}

function setprivArgv(identity: ContainerIdentity): string[] {
  const caps = identity.capabilities.map((cap) => `,+${cap}`).join('');
  return [
    '/usr/bin/setpriv',
    `--reuid=${identity.uid}`,
    `--regid=${identity.gid}`,
    ...(identity.groups.length > 0 ? [`--groups=${identity.groups.join(',')}`] : ['--clear-groups']),
    `--bounding-set=-all${caps}`,
    `--inh-caps=-all${caps}`,
    '--ambient-caps=-all',
    ...(identity.noNewPrivs ? ['--no-new-privs'] : []),
    // A change of uid clears the parent-death signal unshare's --kill-child set: keep it.
    '--pdeathsig=keep',
    '--',
  ];
}

/**
 * The PID (on the host) of a container's PID 1: the child `unshare --fork` made. The kubelet's
 * SIGTERM goes to it, as the runtime sends it to the container's init.
 */
export async function containerInitPid(unsharePid: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').catch(() => '');
  const first = children.trim().split(/\s+/)[0];
  return first ? Number(first) : undefined;
}
