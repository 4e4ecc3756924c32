import { chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { defineTool, ToolError } from './tool.ts';

const Input = z.object({
  path: z.string().min(1).describe('File path relative to the repository root'),
  content: z.string().describe('The complete new content of the file'),
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description:
    'Create a file, or replace a whole file, with the given content (parent directories are created). ' +
    'To change part of an existing file use edit_file instead: it is cheaper and cannot drop code by accident.',
  inputSchema: Input,
  async execute({ path, content }, { guard, owner }) {
    const real = await guard.resolve(path, 'write');
    const existing = await stat(real).catch(() => undefined);
    if (existing?.isDirectory()) throw new ToolError(`"${path}" is a directory`);
    const firstCreated = await mkdir(dirname(real), { recursive: true });
    await writeFile(real, content, 'utf8');
    if (owner) {
      // The tools run as the runner (root); what they create must stay the agent's to change.
      const created = existing ? [] : [real];
      for (let dir = dirname(real); firstCreated && dir.length >= firstCreated.length; dir = dirname(dir)) {
        created.push(dir);
      }
      for (const made of created) await chown(made, owner.uid, owner.gid);
    }
    const verb = existing ? 'Replaced' : 'Created';
    return { output: `${verb} ${guard.display(real)} (${content.length} characters)` };
  },
});
