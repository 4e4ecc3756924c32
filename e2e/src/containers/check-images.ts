/**
 * CI's proof that the images run (called by .ci/images after it built them):
 * - the ingester and orchestrator containers, with their Deployments' security settings, against
 *   the real broker (a vhost of its own) and a fake Kubernetes API: both ready on /readyz, and the
 *   README's sample webhook sent to the ingester container becomes a runner Job created by the
 *   orchestrator container;
 * - each runner image runs a sample repository's tests in its language, offline, as uid 10001 with
 *   a read-only root, its workspace and caches on volumes as in the Job;
 * - no image carries the host's CA bundle (it is only mounted while building).
 * Usage (as root, for the sample workspaces' uid 10001 and rabbitmqctl):
 *   node --conditions=source e2e/src/containers/check-images.ts [tag]   # tag: ci
 * CHECK_ONLY=ca|runners|services runs one part, when iterating on an image.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestVhost, FakeKubernetes, freePort, waitFor } from '@anton/testing';
import { type Container, podman, RESTRICTED, startContainer } from './podman.ts';
import { SAMPLES, writeSample } from './sample-repositories.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const tag = process.argv[2] ?? 'ci';
const id = randomBytes(3).toString('hex');

function step(what: string): void {
  process.stdout.write(`--- ${what}\n`);
}

async function readyz(url: string, container: Container): Promise<void> {
  const outcome = await waitFor(
    async () => {
      const state = (await podman(['inspect', '--format', '{{.State.Status}}', container.name])).trim();
      if (state !== 'running') return state;
      return (await fetch(url)).status === 200 && 'ready';
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `${container.name} ${url} to answer 200` },
  );
  if (outcome !== 'ready') throw new Error(`${container.name} is ${outcome} instead of ready`);
}

async function checkServices(): Promise<void> {
  const vhost = await createTestVhost('images');
  const kube = await FakeKubernetes.start();
  // The fake writes its kubeconfig for its owner only; the container's uid 10001 reads a copy.
  const kubeconfig = join(await mkdtemp(join(tmpdir(), 'anton-image-check-')), 'kubeconfig');
  await copyFile(kube.kubeconfigPath, kubeconfig);
  await chmod(kubeconfig, 0o644);
  const containers: Container[] = [];
  try {
    const ingesterPort = await freePort();
    const metricsPort = await freePort();
    const secret = randomBytes(16).toString('hex');
    const host = ['--network=host', ...RESTRICTED];
    step('ingester container (Deployment settings) against the real broker');
    containers.push(
      await startContainer(`anton-ci-ingester-${id}`, [
        ...host,
        `--env=PORT=${ingesterPort}`,
        '--env=HOST=127.0.0.1',
        `--env=WEBHOOK_SECRET=${secret}`,
        `--env=RABBITMQ_URL=${vhost.url}`,
        `anton-ingester:${tag}`,
      ]),
    );
    step('orchestrator container (Deployment settings) against the broker and a Kubernetes API');
    containers.push(
      await startContainer(`anton-ci-orchestrator-${id}`, [
        ...host,
        '--tmpfs=/tmp',
        `--volume=${kubeconfig}:/etc/anton/kubeconfig:ro`,
        `--volume=${join(root, 'deploy/dev/routing.yaml')}:/etc/anton/routing.yaml:ro`,
        '--env=KUBECONFIG=/etc/anton/kubeconfig',
        '--env=ROUTING_CONFIG=/etc/anton/routing.yaml',
        '--env=K8S_NAMESPACE=agents',
        `--env=METRICS_PORT=${metricsPort}`,
        '--env=METRICS_HOST=127.0.0.1',
        `--env=RABBITMQ_URL=${vhost.url}`,
        `anton-orchestrator:${tag}`,
      ]),
    );
    const [ingester, orchestrator] = containers as [Container, Container];
    await readyz(`http://127.0.0.1:${ingesterPort}/readyz`, ingester);
    await readyz(`http://127.0.0.1:${metricsPort}/readyz`, orchestrator);
    step("the README's sample webhook, from the ingester container to a Job by the orchestrator container");
    const { stdout } = await run(
      './pnpmw',
      [
        '--silent',
        '--filter',
        '@anton/ingester',
        'send',
        'jira',
        'ingester/test/fixtures/jira-issue_created-1.json',
        `--url=http://127.0.0.1:${ingesterPort}`,
        `--secret=${secret}`,
      ],
      { cwd: root },
    );
    if (!/^202\b/m.test(stdout)) throw new Error(`the ingester container did not accept the webhook: ${stdout}`);
    await waitFor(() => kube.jobs('agents').length === 1, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the orchestrator container to create the runner Job',
    });
  } catch (err) {
    for (const container of containers) console.error(`--- logs of ${container.name}\n${await container.logs()}`);
    throw err;
  } finally {
    for (const container of containers) await container.remove();
    await kube.close();
    await rm(dirname(kubeconfig), { recursive: true, force: true });
    await vhost.delete();
  }
}

async function checkRunnerImages(): Promise<void> {
  for (const [target, sample] of Object.entries(SAMPLES)) {
    step(`${target}: a sample repository's tests, offline, uid 10001, read-only root`);
    const { workspace, cache } = await writeSample(sample);
    try {
      const out = await podman([
        'run',
        '--rm',
        '--network=none',
        ...RESTRICTED,
        '--tmpfs=/tmp',
        `--volume=${workspace}:/app/workspace`,
        `--volume=${cache}:/app/cache`,
        '--workdir=/app/workspace',
        `${sample.image}:${tag}`,
        'bash',
        '-c',
        sample.test,
      ]);
      process.stdout.write(out);
    } finally {
      await rm(dirname(workspace), { recursive: true, force: true });
    }
  }
}

/** The host's extra CAs (this machine's TLS setup) must not be in any image: they are build-time mounts. */
async function checkNoHostCa(): Promise<void> {
  const dir = '/usr/local/share/ca-certificates';
  const files = await readdir(dir).catch(() => []);
  const pems = await Promise.all(files.filter((f) => f.endsWith('.crt')).map((f) => readFile(join(dir, f), 'utf8')));
  // A line from the middle of each certificate's base64 body identifies it.
  const markers = pems.map((pem) => pem.split('\n').filter((l) => /^[A-Za-z0-9+/]{64}$/.test(l))[3]).filter(Boolean);
  step(`no image holds the host's ${markers.length} extra CA certificate(s)`);
  const images = ['anton-ingester', 'anton-orchestrator', ...Object.values(SAMPLES).map((s) => s.image)];
  for (const image of images) {
    const bundle = await podman([
      'run',
      '--rm',
      '--network=none',
      ...RESTRICTED,
      '--entrypoint=',
      `${image}:${tag}`,
      'sh',
      '-c',
      'cat /etc/ssl/certs/*.crt /etc/ssl/certs/*.pem 2>/dev/null; ls /run/secrets 2>/dev/null; true',
    ]);
    for (const marker of markers) {
      if (marker && bundle.includes(marker)) throw new Error(`${image}:${tag} holds the host's CA certificate`);
    }
    if (/^ca$/m.test(bundle)) throw new Error(`${image}:${tag} kept the build's CA secret`);
  }
}

const only = process.env.CHECK_ONLY;
if (!only || only === 'ca') await checkNoHostCa();
if (!only || only === 'runners') await checkRunnerImages();
if (!only || only === 'services') await checkServices();
process.stdout.write('--- all image checks passed\n');
