import type { RunnerContext, TokenUsage } from '@anton/contracts';
import type OpenAI from 'openai';
import { APIError } from 'openai';
import { PermanentFailure } from '../errors.ts';
import { REVIEW_SYSTEM_PROMPT, reviewMessage } from './review-prompt.ts';
import { parseVerdict, ReviewVerdict, strictJsonSchema } from './verdict.ts';

export interface ReviewInput {
  context: RunnerContext;
  diff: string;
  stat: string;
  summary: string;
  /** The runner's own test run after the submission (verify/verification.ts evidenceText). */
  evidence?: string;
}

export interface Review {
  verdict: ReviewVerdict;
  usage: TokenUsage;
  /** The model that reviewed: OPENAI_MODEL, or OPENAI_FALLBACK_MODEL once the first is gone. */
  model: string;
}

/** The reviewer answered, but with nothing that reads as a verdict. */
export class UnreadableReview extends Error {
  override name = 'UnreadableReview';
}

export type Reviewer = (input: ReviewInput, signal?: AbortSignal) => Promise<Review>;

const VERDICT_SCHEMA = strictJsonSchema(ReviewVerdict);

/**
 * OpenAI's answer for a model id it does not serve, a typo or a snapshot it has shut down (gpt-4o's
 * are announced for 2027-01-14): `404 {"error": {"code": "model_not_found", "type":
 * "invalid_request_error", …}}`, sometimes a 400 with that code. No retry changes it.
 */
export function isModelUnavailable(err: unknown): err is APIError {
  return (
    err instanceof APIError &&
    (err.status === 404 || err.status === 400) &&
    (err.code === 'model_not_found' || err.code === 'model_deprecated')
  );
}

export interface ReviewerModels {
  /** OPENAI_MODEL. */
  model: string;
  /** OPENAI_FALLBACK_MODEL: used, for the rest of the run, once OpenAI says the first is gone. */
  fallback?: string | undefined;
}

/**
 * GPT-4o (OPENAI_MODEL) reviews through Chat Completions with a strict structured-output schema.
 * A model OpenAI no longer serves falls back once to OPENAI_FALLBACK_MODEL; without one (or when
 * that is gone too) the run ends as a permanent failure that says which variable to set.
 */
export function createReviewer(client: OpenAI, { model, fallback }: ReviewerModels): Reviewer {
  let current = model;
  return async (input, signal) => {
    try {
      return await reviewWith(client, current, input, signal);
    } catch (err) {
      if (!isModelUnavailable(err)) throw err;
      const gone = `the reviewer model ${current} is not available (OpenAI: ${err.message})`;
      if (!fallback || current === fallback) {
        throw new PermanentFailure(
          `${gone}; set OPENAI_MODEL to a current model${fallback ? '' : ', or OPENAI_FALLBACK_MODEL'}`,
          { cause: err },
        );
      }
      current = fallback;
    }
    try {
      return await reviewWith(client, current, input, signal);
    } catch (err) {
      if (!isModelUnavailable(err)) throw err;
      throw new PermanentFailure(
        `neither reviewer model is available: ${model} nor OPENAI_FALLBACK_MODEL ${current} (OpenAI: ${err.message}); set OPENAI_MODEL to a current model`,
        { cause: err },
      );
    }
  };
}

async function reviewWith(
  client: OpenAI,
  model: string,
  { context, diff, stat, summary, evidence }: ReviewInput,
  signal: AbortSignal | undefined,
): Promise<Review> {
  const completion = await client.chat.completions.create(
    {
      model,
      temperature: 0,
      messages: [
        { role: 'system', content: REVIEW_SYSTEM_PROMPT },
        { role: 'user', content: reviewMessage(context, diff, stat, summary, evidence) },
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
  return { verdict, usage, model };
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
