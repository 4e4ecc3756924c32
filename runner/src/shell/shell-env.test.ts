import { describe, expect, it } from 'vitest';
import { shellEnvironment } from './shell-env.ts';

describe("the agent's shell environment", () => {
  it("keeps the runner image's cache locations, so package caches land on the cache volume, not /tmp", () => {
    // As runner/Dockerfile sets them (npm and Maven read theirs from config files in the image).
    const image = {
      XDG_CACHE_HOME: '/app/cache',
      XDG_DATA_HOME: '/app/cache/share',
      GRADLE_USER_HOME: '/app/cache/gradle',
      JAVA_HOME: '/usr/lib/jvm/java-17-openjdk-amd64',
    };
    expect(shellEnvironment(image)).toMatchObject(image);
  });
});
