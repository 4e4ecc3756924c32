import { z } from 'zod';
import { LIMITS } from './output-limits.ts';
import { defineTool, ToolError } from './tool.ts';

const Input = z.object({
  path: z.string().min(1).describe('File path relative to the repository root'),
  old_text: z
    .string()
    .min(1)
    .describe('The exact text to replace, copied from the file (whitespace included, without line numbers)'),
  new_text: z.string().describe('The text to put in its place'),
});

export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Replace one exact snippet of an existing file with new text. old_text must appear exactly once: include a ' +
    'few surrounding lines to make it unique. Prefer this to write_file for any change to an existing file.',
  inputSchema: Input,
  async execute({ path, old_text, new_text }, { guard, files }) {
    const real = await guard.resolve(path, 'write');
    const text = (
      await files.read(real, path, LIMITS.fileBytes).catch((err: unknown) => {
        if (err instanceof ToolError && /does not exist/.test(err.message))
          throw new ToolError(`"${path}" does not exist; use write_file to create a new file`);
        throw err;
      })
    ).toString('utf8');
    const first = text.indexOf(old_text);
    if (first === -1) {
      throw new ToolError(
        `old_text was not found in ${path}. Read the file again (read_file with a line range) and copy the ` +
          'snippet exactly, including indentation; do not include the line-number prefixes.',
      );
    }
    const second = text.indexOf(old_text, first + 1);
    if (second !== -1) {
      const count = text.split(old_text).length - 1;
      throw new ToolError(
        `old_text appears ${count} times in ${path} (first at line ${lineOf(text, first)}, next at line ` +
          `${lineOf(text, second)}). Include more surrounding lines so it matches exactly one place.`,
      );
    }
    const updated = text.slice(0, first) + new_text + text.slice(first + old_text.length);
    await files.write(real, path, updated);
    return { output: `Edited ${guard.display(real)} at line ${lineOf(text, first)}` };
  },
});

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}
