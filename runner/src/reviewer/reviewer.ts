import type { RunnerContext, TokenUsage } from '@anton/contracts';
import type OpenAI from 'openai';
import { REVIEW_SYSTEM_PROMPT, reviewMessage } from './review-prompt.ts';
import { parseVerdict, ReviewVerdict, strictJsonSchema } from './verdict.ts';

export interface ReviewInput {
  context: RunnerContext;
  diff: string;
  stat: string;
  summary: string;
}

export interface Review {
  verdict: ReviewVerdict;
  usage: TokenUsage;
}

/** The reviewer answered, but with nothing that reads as a verdict. */
export class UnreadableReview extends Error {
  override name = 'UnreadableReview';
}

export type Reviewer = (input: ReviewInput, signal?: AbortSignal) => Promise<Review>;

const VERDICT_SCHEMA = strictJsonSchema(ReviewVerdict);

/** GPT-4o (OPENAI_MODEL) reviews through Chat Completions with a strict structured-output schema. */
export function createReviewer(client: OpenAI, model: string): Reviewer {
  return async ({ context, diff, stat, summary }, signal) => {
    const completion = await client.chat.completions.create(
      {
        model,
        temperature: 0,
        messages: [
          { role: 'system', content: REVIEW_SYSTEM_PROMPT },
          { role: 'user', content: reviewMessage(context, diff, stat, summary) },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'review_verdict', strict: true, schema: VERDICT_SCHEMA },
        },
      },
      signal ? { signal } : {},
    );
    const message = completion.choices[0]?.message;
    const usage = usageOf(completion.usage);
    if (message?.refusal) throw new UnreadableReview(`the reviewer refused: ${message.refusal.slice(0, 500)}`);
    const verdict = parseVerdict(message?.content ?? '');
    if (!verdict) throw new UnreadableReview(`unreadable reviewer answer: ${(message?.content ?? '').slice(0, 500)}`);
    return { verdict, usage };
  };
}

function usageOf(usage: OpenAI.CompletionUsage | undefined): TokenUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: (usage?.prompt_tokens ?? 0) - cached,
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}
