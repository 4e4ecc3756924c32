import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Pod addresses come from this private range, on interfaces of the pod's own making only. */
const POD_RANGE = '10.213';

/**
 * A pod's network, as a CNI plugin gives one on a node: a network namespace of its own, with its
 * own loopback and one non-loopback address (the pod IP) on a veth whose other end sits on the
 * host with the node-side address. Every container of the pod joins it, so they share loopback,
 * and a probe the kubelet sends to the pod IP reaches only what listens on the pod IP.
 *
 * The services outside the pod it talks to (the fakes, listening on the host's 127.0.0.1) stand
 * for hosts on the internet: each named host port is relayed from the node-side address to the
 * host's loopback, and inside the pod, connections to 127.0.0.1:<that port> are sent there
 * (nftables DNAT + masquerade), so the pod's URLs stay what the orchestrator rendered. Every other
 * port of the pod's loopback is the pod's own.
 */
export class PodNetwork {
  readonly namespace: string;
  readonly podIp: string;
  readonly hostIp: string;
  readonly #hostLink: string;
  readonly #relays: Server[] = [];

  private constructor(namespace: string, hostLink: string, podIp: string, hostIp: string) {
    this.namespace = namespace;
    this.#hostLink = hostLink;
    this.podIp = podIp;
    this.hostIp = hostIp;
  }

  /** The `nsenter` option that runs a command in this pod's network. */
  get nsenterArg(): string {
    return `--net=/run/netns/${this.namespace}`;
  }

  static async create(hostPorts: number[]): Promise<PodNetwork> {
    const id = randomBytes(4).toString('hex');
    const namespace = `anton-pod-${id}`;
    const hostLink = `ap${id}h`;
    const podLink = `ap${id}p`;
    const { podIp, hostIp } = await freeSubnet();
    const network = new PodNetwork(namespace, hostLink, podIp, hostIp);
    try {
      await ip('netns', 'add', namespace);
      await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', podLink);
      await ip('link', 'set', podLink, 'netns', namespace);
      await ip('addr', 'add', `${hostIp}/30`, 'dev', hostLink);
      await ip('link', 'set', hostLink, 'up');
      await ip('-n', namespace, 'addr', 'add', `${podIp}/30`, 'dev', podLink);
      await ip('-n', namespace, 'link', 'set', podLink, 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      await ip('-n', namespace, 'route', 'add', 'default', 'via', hostIp);
      if (hostPorts.length > 0) await network.#relay(hostPorts, podLink);
    } catch (err) {
      await network.close();
      throw err;
    }
    return network;
  }

  async #relay(ports: number[], podLink: string): Promise<void> {
    for (const port of ports) {
      const server = createServer((client) => {
        const upstream = createConnection(port, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, this.hostIp, resolve));
      this.#relays.push(server);
    }
    await run('ip', ['netns', 'exec', this.namespace, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1']);
    const rules = [
      'table ip anton {',
      '  chain output {',
      '    type nat hook output priority -100;',
      `    ip daddr 127.0.0.1 tcp dport { ${ports.join(', ')} } dnat to ${this.hostIp}`,
      '  }',
      '  chain postrouting {',
      '    type nat hook postrouting priority 100;',
      `    oifname "${podLink}" masquerade`,
      '  }',
      '}',
    ].join('\n');
    const nft = execFile('ip', ['netns', 'exec', this.namespace, 'nft', '-f', '-']);
    const done = new Promise<void>((resolve, reject) =>
      nft.once('error', reject).once('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft: ${code}`)))),
    );
    nft.stdin?.end(rules);
    await done;
  }

  /** Removes the namespace (and with it both veth ends) and the relays. */
  async close(): Promise<void> {
    for (const relay of this.#relays.splice(0)) relay.close();
    await ip('netns', 'del', this.namespace).catch(() => undefined);
    // The host end goes with its peer, but not always at once.
    await ip('link', 'del', this.#hostLink).catch(() => undefined);
  }
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** A /30 of POD_RANGE no interface on this host uses yet (other suites may run pods too). */
async function freeSubnet(): Promise<{ podIp: string; hostIp: string }> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr']);
  for (;;) {
    const third = randomInt(0, 256);
    const fourth = randomInt(0, 64) * 4;
    const hostIp = `${POD_RANGE}.${third}.${fourth + 1}`;
    if (!stdout.includes(` ${hostIp}/`)) return { hostIp, podIp: `${POD_RANGE}.${third}.${fourth + 2}` };
  }
}
