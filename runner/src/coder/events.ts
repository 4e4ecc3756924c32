import type { TokenUsage } from '@anton/contracts';
import type { ShellRecord } from '../tools/tool.ts';

/** What the coder loop reports as it goes: logged by the runner, asserted by tests. */
export type CoderEvent =
  | { type: 'turn'; round: number; turn: number; usage: TokenUsage; stopReason: string | null; toolCalls: number }
  | { type: 'tool'; round: number; turn: number; name: string; isError: boolean; ms: number; shell?: ShellRecord }
  | { type: 'reminder'; round: number; turn: number }
  | { type: 'submitted'; round: number; turn: number; summary: string }
  /** The prompt was over the context window: old tool results were cleared and the call retried. */
  | { type: 'compacted'; round: number; turn: number }
  | {
      type: 'budget';
      round: number;
      turn: number;
      /** checkpoint: every 10 turns; warning: 80% spent; final: one last call for submit_changes. */
      note: 'checkpoint' | 'warning' | 'final';
      spentUsd: number;
      limitUsd: number;
    };

export type CoderEventHandler = (event: CoderEvent) => void;
