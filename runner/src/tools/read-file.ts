import { z } from 'zod';
import { LIMITS, truncateMiddle } from './output-limits.ts';
import { defineTool, ToolError } from './tool.ts';

const Input = z.object({
  path: z.string().min(1).describe('File path relative to the repository root'),
  start_line: z.number().int().min(1).max(10_000_000).optional().describe('First line to show (1-based)'),
  end_line: z.number().int().min(1).max(10_000_000).optional().describe('Last line to show (inclusive)'),
});

export const readFileTool = defineTool({
  name: 'read_file',
  description:
    'Read a text file of the repository. Lines are numbered ("12| code") so you can cite them; the numbers are ' +
    'not part of the file. For a large file, first find the place with `search`, then read only that part with ' +
    'start_line/end_line instead of the whole file.',
  inputSchema: Input,
  async execute({ path, start_line, end_line }, { guard, files }) {
    const real = await guard.resolve(path, 'read');
    const bytes = await files.read(real, path, LIMITS.fileBytes);
    if (bytes.subarray(0, 8192).includes(0)) {
      return { output: `${guard.display(real)} is a binary file (${bytes.length} bytes); it cannot be shown as text` };
    }
    const text = bytes.toString('utf8');
    const lines = text.split('\n');
    if (text.endsWith('\n')) lines.pop();
    const first = start_line ?? 1;
    const last = Math.min(end_line ?? lines.length, lines.length);
    if (lines.length > 0 && first > lines.length) {
      throw new ToolError(`"${path}" has ${lines.length} lines; start_line ${first} is past the end`);
    }
    if (last < first && lines.length > 0) throw new ToolError('end_line is before start_line');
    const width = String(last).length;
    const shown = lines
      .slice(first - 1, last)
      .map((line, i) => `${String(first + i).padStart(width)}| ${line}`)
      .join('\n');
    const range = first > 1 || last < lines.length ? ` (lines ${first}-${last} of ${lines.length})` : '';
    const body = truncateMiddle(
      shown,
      LIMITS.readFileChars,
      'Read a smaller part with start_line/end_line, or use search to find the lines you need.',
    );
    return { output: `${guard.display(real)}${range}\n${body}` };
  },
});
