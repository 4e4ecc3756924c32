import { z } from 'zod';
import { LIMITS } from './output-limits.ts';
import { defineTool } from './tool.ts';

const Input = z.object({
  path: z.string().default('.').describe('Directory relative to the repository root (default: the root)'),
});

export const listDirTool = defineTool({
  name: 'list_dir',
  description:
    'List the entries of one directory (not recursive); directories end with "/". Use it to get your bearings; ' +
    'to find where something is defined or used, search is faster.',
  inputSchema: Input,
  async execute({ path }, { guard, files }) {
    const real = await guard.resolve(path, 'read');
    const entries = await files.list(real, path);
    const names = entries.map((e) => (e.dir ? `${e.name}/` : e.name)).sort((a, b) => a.localeCompare(b, 'en'));
    const shown = names.slice(0, LIMITS.listDirEntries);
    const more =
      names.length > shown.length
        ? `\n[${names.length - shown.length} more entries not shown; list a subdirectory or use search]`
        : '';
    const header = `${guard.display(real)}/ (${names.length} entries)`;
    return { output: `${header}\n${shown.join('\n')}${more}` };
  },
});
