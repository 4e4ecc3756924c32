import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContext } from './context.ts';
import { makeTempDir, type TempDir } from './testing/temp-dir.ts';

describe('loadContext', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.cleanup());

  const write = async (content: string) => {
    const path = join(tmp.path, 'task.json');
    await writeFile(path, content);
    return path;
  };

  it("reads the original's hand-written form", async () => {
    const path = await write(
      JSON.stringify({ repo_url: 'https://github.com/acme/shop.git', task_description: 'Fix it', issue_id: 'PROJ-1' }),
    );
    expect(await loadContext(path)).toEqual({
      ok: true,
      context: {
        repo_url: 'https://github.com/acme/shop.git',
        task_description: 'Fix it',
        issue_id: 'PROJ-1',
        base_branch: 'main',
      },
    });
  });

  it('names the missing file, bad JSON and each bad field', async () => {
    expect(await loadContext(join(tmp.path, 'none.json'))).toEqual({
      ok: false,
      reason: expect.stringMatching(/cannot read the task context .*none\.json: ENOENT/),
    });
    expect(await loadContext(await write('{"repo_url":'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/is not JSON/),
    });
    const invalid = await loadContext(await write(JSON.stringify({ repo_url: '--upload-pack=evil', issue_id: '' })));
    expect(invalid.ok).toBe(false);
    if (!invalid.ok) {
      expect(invalid.reason).toMatch(/repo_url: /);
      expect(invalid.reason).toMatch(/task_description: /);
      expect(invalid.reason).toMatch(/issue_id: /);
    }
  });
});
