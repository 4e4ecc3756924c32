import { z } from 'zod';
import { defineTool } from './tool.ts';

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
  async execute({ path, content }, { guard, files }) {
    const real = await guard.resolve(path, 'write');
    // Written by the agent's uid: what it creates is the agent's, and it can write nothing more.
    const { existed } = await files.write(real, path, content);
    const verb = existed ? 'Replaced' : 'Created';
    return { output: `${verb} ${guard.display(real)} (${content.length} characters)` };
  },
});
