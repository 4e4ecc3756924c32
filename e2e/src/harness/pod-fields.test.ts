import type { KubeObject } from '@anton/testing';
import { describe, expect, it } from 'vitest';
import { identityOf } from './kubelet.ts';
import { unhonouredFields } from './pod-fields.ts';
import { PodSpecError } from './pod-host-mapping.ts';

const agent = {
  name: 'agent',
  image: 'anton-runner:1',
  command: ['tini', '--', 'node', 'dist/main.js'],
  securityContext: { runAsUser: 0, runAsNonRoot: false, capabilities: { drop: ['ALL'], add: ['SETUID'] } },
};
const spec = (extra: Record<string, unknown> = {}, container: Record<string, unknown> = agent) => ({
  restartPolicy: 'Never',
  securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [container],
  ...extra,
});
const pod = (podSpec: Record<string, unknown>) => ({ metadata: { name: 'p' }, spec: podSpec }) as unknown as KubeObject;

describe('what the stand-in kubelet makes of a pod spec', () => {
  it('lists the fields it cannot honour', () => {
    expect(unhonouredFields(spec())).toEqual(['spec.containers[agent].image', 'spec.securityContext.seccompProfile']);
  });

  it('fails on a field it does not know, or a value it cannot run, rather than ignore it', () => {
    expect(() => unhonouredFields(spec({ hostNetwork: true }))).toThrow(
      'spec.hostNetwork: the stand-in kubelet does not know',
    );
    expect(() => unhonouredFields(spec({}, { ...agent, securityContext: { privileged: true } }))).toThrow(PodSpecError);
    expect(() =>
      unhonouredFields(spec({}, { ...agent, securityContext: { capabilities: { drop: ['NET_RAW'] } } })),
    ).toThrow(PodSpecError);
  });

  it('works out the container user as the kubelet does, and refuses root under runAsNonRoot', () => {
    const image = { uid: 10001, gid: 10001 };
    expect(identityOf(pod(spec()), agent, image)).toEqual({
      uid: 0,
      gid: 10001,
      groups: [10001],
      capabilities: ['setuid'],
      noNewPrivs: false,
    });
    const rootUnderNonRoot = { ...agent, securityContext: { runAsUser: 0, capabilities: { drop: ['ALL'] } } };
    expect(() => identityOf(pod(spec()), rootUnderNonRoot, image)).toThrow('runAsNonRoot and image will run as root');
  });
});
