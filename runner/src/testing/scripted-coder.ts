import type { ScriptedReply } from '@anton/testing';

/** Replies of a scripted coder, shortest to write in tests. */
export const say = (text: string): ScriptedReply => ({ content: [{ type: 'text', text }] });

export const use = (name: string, input: Record<string, unknown>, text?: string): ScriptedReply => ({
  content: [...(text ? [{ type: 'text' as const, text }] : []), { type: 'tool_use', name, input }],
});

/** The session that fixes the sample project: explore, search, read, reproduce, edit, verify, submit. */
export function sampleFixScript(summary = 'Apply the discount as a percentage'): ScriptedReply[] {
  return [
    use('list_dir', { path: '.' }, 'Let me look around.'),
    use('search', { pattern: 'applyDiscount' }),
    use('read_file', { path: 'src/pricing.js' }),
    use('run_shell_command', { command: 'node --test test/' }),
    use('edit_file', { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * (percent / 100);' }),
    use('run_shell_command', { command: 'node --test' }),
    use('git_status', {}),
    use('submit_changes', {
      summary: `${summary}\n\napplyDiscount multiplied by the percentage instead of its fraction. Ran node --test: all pass.`,
    }),
  ];
}
