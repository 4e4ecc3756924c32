import { LABELS, ORCHESTRATOR_NAME } from '@anton/contracts';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClaimStore, HeldClaim } from '../dedup.ts';
import { isAlreadyExists, type KubernetesApi, KubernetesError } from './kubernetes-api.ts';
import { type RetryPolicy, withRetry } from './with-retry.ts';

const COMPONENT_LABEL = 'app.kubernetes.io/component';
const COMPONENT = 'dedup-claim';
const SELECTOR = `${LABELS.managedBy}=${ORCHESTRATOR_NAME},${COMPONENT_LABEL}=${COMPONENT}`;

export const claimName = (hash: string): string => `anton-dedup-${hash}`;

/**
 * Deduplication claims as ConfigMaps named `anton-dedup-<hash>`: creating one is atomic (409 for
 * the loser), the API server's creationTimestamp dates it (one clock for all replicas), and its uid
 * makes removal conditional. They carry no `app: anton-runner` label, so nothing takes them for Jobs.
 */
export class KubernetesClaimStore implements ClaimStore {
  readonly #api: KubernetesApi;
  readonly #retry: <T>(what: string, call: () => Promise<T>) => Promise<T>;

  /** Each call is retried on 429/5xx like the dispatcher's; every one of them is safe to repeat. */
  constructor(api: KubernetesApi, options: { policy: RetryPolicy; logger: Logger }) {
    this.#api = api;
    this.#retry = (what, call) => withRetry(what, call, options);
  }

  async create(hash: string, taskId: string): Promise<'created' | 'exists'> {
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: claimName(hash),
        namespace: this.#api.namespace,
        labels: { [LABELS.managedBy]: ORCHESTRATOR_NAME, [COMPONENT_LABEL]: COMPONENT, [LABELS.dedupHash]: hash },
      },
      data: { 'task-id': taskId, 'claimed-at': new Date().toISOString() },
    };
    try {
      await this.#retry('create claim', () => this.#api.createConfigMap(body));
      return 'created';
    } catch (err) {
      if (isAlreadyExists(err)) return 'exists';
      throw err;
    }
  }

  async read(hash: string): Promise<HeldClaim | undefined> {
    const configMap = await this.#retry('read claim', () => this.#api.readConfigMap(claimName(hash)));
    return configMap && toClaim(configMap);
  }

  async remove(hash: string, version: string): Promise<boolean> {
    try {
      return await this.#retry('remove claim', () => this.#api.deleteConfigMap(claimName(hash), version));
    } catch (err) {
      // 409: the uid precondition failed, the claim was replaced meanwhile; it is not ours to remove.
      if (err instanceof KubernetesError && err.status === 409) return false;
      throw err;
    }
  }

  async markDispatched(hash: string, version: string): Promise<void> {
    await this.#retry('mark claim', () =>
      this.#api.patchConfigMapData(claimName(hash), { uid: version, data: { dispatched: 'true' } }),
    );
  }

  async list(): Promise<Array<HeldClaim & { hash: string }>> {
    const configMaps = await this.#retry('list claims', () => this.#api.listConfigMaps(SELECTOR));
    return configMaps.flatMap((configMap) => {
      const claim = toClaim(configMap);
      const hash = configMap.metadata?.labels?.[LABELS.dedupHash];
      return claim && hash ? [{ ...claim, hash }] : [];
    });
  }
}

function toClaim(configMap: V1ConfigMap): HeldClaim | undefined {
  const taskId = configMap.data?.['task-id'];
  const uid = configMap.metadata?.uid;
  if (!taskId || !uid) return undefined;
  // The server's timestamp when there is one: replicas' clocks may disagree, the API server's is one.
  const created = configMap.metadata?.creationTimestamp ?? configMap.data?.['claimed-at'];
  return { taskId, claimedAt: new Date(created ?? 0), version: uid, dispatched: configMap.data?.dispatched === 'true' };
}
