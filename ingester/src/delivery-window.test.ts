import { describe, expect, it } from 'vitest';
import { DeliveryWindow } from './delivery-window.ts';

describe('DeliveryWindow', () => {
  it('answers a repeated delivery with the task it became', async () => {
    const window = new DeliveryWindow();
    window.track('d1', Promise.resolve('task-1'));
    await expect(window.get('d1')).resolves.toBe('task-1');
    expect(window.get('d2')).toBeUndefined();
  });

  it('forgets a delivery whose publish failed, so the retry can publish', async () => {
    const window = new DeliveryWindow();
    const failed = Promise.reject(new Error('broker down'));
    window.track('d1', failed);
    await failed.catch(() => undefined);
    expect(window.get('d1')).toBeUndefined();
  });

  it('forgets deliveries older than its age bound', () => {
    let now = 0;
    const window = new DeliveryWindow({ maxAgeMs: 1000, now: () => now });
    window.track('d1', Promise.resolve('task-1'));
    now = 1000;
    expect(window.get('d1')).toBeDefined();
    now = 1001;
    expect(window.get('d1')).toBeUndefined();
  });

  it('drops the oldest deliveries beyond its size bound', () => {
    const window = new DeliveryWindow({ maxEntries: 2 });
    for (const id of ['d1', 'd2', 'd3']) window.track(id, Promise.resolve(id));
    expect(window.get('d1')).toBeUndefined();
    expect(window.get('d2')).toBeDefined();
    expect(window.get('d3')).toBeDefined();
  });
});
