import { describe, expect, it } from 'vitest';
import { applyPatch, PatchError } from './patch.ts';

const pod = {
  metadata: { labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    containers: [
      { name: 'agent', image: 'runner:1', env: [{ name: 'A', value: '1' }] },
      { name: 'helper', image: 'helper:1' },
    ],
  },
};

describe('merge patch (RFC 7386)', () => {
  it('merges maps, deletes keys set to null and replaces lists whole', () => {
    const patched = applyPatch('application/merge-patch+json', pod, {
      metadata: { labels: { a: null, c: '3' } },
      spec: { containers: [{ name: 'agent', image: 'runner:2' }] },
    });
    expect(patched).toEqual({
      metadata: { labels: { b: '2', c: '3' }, finalizers: ['x'] },
      spec: { containers: [{ name: 'agent', image: 'runner:2' }] },
    });
  });
});

describe('strategic merge patch', () => {
  it('merges lists of named things by their key, and $patch: delete removes one', () => {
    const patched = applyPatch('application/strategic-merge-patch+json', pod, {
      metadata: { finalizers: ['y'] },
      spec: {
        containers: [
          { name: 'agent', image: 'runner:2', env: [{ name: 'B', value: '2' }] },
          { name: 'helper', $patch: 'delete' },
        ],
      },
    }) as typeof pod;
    expect(patched.metadata.finalizers).toEqual(['x', 'y']);
    expect(patched.spec.containers).toEqual([
      {
        name: 'agent',
        image: 'runner:2',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
    ]);
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('applies add, replace, remove, copy, move and test in order', () => {
    const patched = applyPatch('application/json-patch+json', pod, [
      { op: 'test', path: '/metadata/labels/a', value: '1' },
      { op: 'add', path: '/metadata/annotations', value: { 'anton.dev~1x': 'y' } },
      { op: 'replace', path: '/spec/containers/0/image', value: 'runner:3' },
      { op: 'remove', path: '/spec/containers/1' },
      { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/copy' },
      { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/moved' },
      { op: 'add', path: '/metadata/finalizers/-', value: 'z' },
    ]) as Record<string, Record<string, unknown>>;
    expect(patched.metadata).toEqual({
      labels: { a: '1', copy: '1', moved: '2' },
      finalizers: ['x', 'z'],
      annotations: { 'anton.dev~1x': 'y' },
    });
    expect(patched.spec).toEqual({
      containers: [{ name: 'agent', image: 'runner:3', env: [{ name: 'A', value: '1' }] }],
    });
    expect(pod.spec.containers).toHaveLength(2);
  });

  it('fails a test operation that does not hold, and a path that does not exist', () => {
    expect(() =>
      applyPatch('application/json-patch+json', pod, [{ op: 'test', path: '/metadata/labels/a', value: '9' }]),
    ).toThrow(PatchError);
    expect(() =>
      applyPatch('application/json-patch+json', pod, [{ op: 'replace', path: '/nope/deeper', value: 1 }]),
    ).toThrow('missing');
  });

  it('calls a body that is not a list of operations malformed', () => {
    let caught: unknown;
    try {
      applyPatch('application/json-patch+json', pod, { op: 'add' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PatchError);
    expect((caught as PatchError).malformed).toBe(true);
  });
});
