/**
 * Every limit on what the coder's tools return, in one place. Every character a tool returns is
 * sent back to the model on every later turn of the session (cached or not), so the cost of one
 * oversized result grows with the length of the session. The original's numbers are kept where it
 * had them; the rest are sized so that one result stays well under a tenth of a context window.
 */
export const LIMITS = {
  /** read_file: the original's cap; larger files are read by line range. */
  readFileChars: 100_000,
  /** read_file, edit_file: bytes read from a file at most; a larger one is refused (a 1 GiB log, a sparse file). */
  fileBytes: 16 * 1024 * 1024,
  /** Every file operation of the tools: a FIFO or a stuck mount must not hang the runner. */
  fileTimeoutMs: 10_000,
  /** run_shell_command: the original's cap on what the model sees. */
  shellOutputChars: 50_000,
  /**
   * run_shell_command: bytes kept in memory while a command runs (head and tail only), so a command
   * printing gigabytes costs the runner a fixed amount of memory.
   */
  shellKeptBytes: 256 * 1024,
  /** run_shell_command: output past this many bytes stops the command: nobody reads 32 MB of log. */
  shellKillBytes: 32 * 1024 * 1024,
  /** list_dir: the original's cap. */
  listDirEntries: 500,
  /** search: matching lines shown; more usually means the pattern is too broad. */
  searchMatches: 200,
  /** search: a single matching line is cut here (minified files). */
  searchLineChars: 300,
  /** git_status: a huge status (build output committed by mistake) is cut. */
  gitStatusChars: 20_000,
  /** The reviewer's view of the diff: the original's cap. */
  reviewDiffChars: 80_000,
} as const;

/**
 * Keeps the head and the tail of a long text and replaces the middle with a note telling the model
 * how much was left out and how to narrow its request. The ends are what matter most: the start of
 * a file or log, and the end of a command's output (where errors and summaries are).
 */
export function truncateMiddle(text: string, maxChars: number, hint: string): string {
  if (text.length <= maxChars) return text;
  const omitted = text.length - maxChars;
  const head = Math.ceil(maxChars * 0.4);
  const tail = maxChars - head;
  return `${text.slice(0, head)}\n\n[… ${omitted.toLocaleString('en-US')} characters omitted. ${hint}]\n\n${text.slice(text.length - tail)}`;
}
