import { execFile } from 'node:child_process';

// Prometheus' own linter (Debian package `prometheus`), run on what a service really serves.

export interface PromtoolVerdict {
  /** 0: clean; 3: lint problems (promtool check metrics); 1: a failed check. */
  code: number;
  /** What promtool printed: one line per problem. */
  output: string;
}

function run(args: string[], input?: string): Promise<PromtoolVerdict> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', args, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : undefined) : 0;
      if (code === undefined) reject(err);
      else resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin?.end(input ?? '');
  });
}

/** `promtool check metrics`: the exposition text, as a scrape gets it, against Prometheus' naming rules. */
export const checkMetrics = (exposition: string): Promise<PromtoolVerdict> => run(['check', 'metrics'], exposition);

/** `promtool check rules <file>`: a Prometheus rules file (groups of alerting and recording rules). */
export const checkRules = (path: string): Promise<PromtoolVerdict> => run(['check', 'rules', path]);

/** `promtool test rules <file>`: unit tests of rules over synthetic series (alerts expected to fire or not). */
export const testRules = (path: string): Promise<PromtoolVerdict> => run(['test', 'rules', path]);
