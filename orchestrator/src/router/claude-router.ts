import type Anthropic from '@anthropic-ai/sdk';
import { formatIssues, RouterPlan, toModelJsonSchema } from '@anton/contracts';
import type { Logger } from 'pino';
import type { RouteRequest } from './route-request.ts';
import { ROUTE_TOOL_DESCRIPTION, ROUTE_TOOL_NAME, ROUTER_SYSTEM_PROMPT, routerUserPrompt } from './router-prompt.ts';

type MessageParam = Anthropic.Messages.MessageParam;
type Message = Anthropic.Messages.Message;

/** Claude answered, but not with a valid plan, twice. */
export class InvalidRouterAnswerError extends Error {
  override name = 'InvalidRouterAnswerError';
}

const ROUTE_TOOL = {
  name: ROUTE_TOOL_NAME,
  description: ROUTE_TOOL_DESCRIPTION,
  input_schema: toModelJsonSchema(RouterPlan),
};

export interface ClaudeRouterOptions {
  client: Anthropic;
  model: string;
  maxTokens: number;
}

/**
 * Asks Claude for a RouterPlan through a forced `route_task` tool call whose input schema is derived
 * from the zod schema that then validates the answer. An invalid answer gets one more turn, with
 * the validation errors as the tool's error result. Retries of 429/5xx/529 are the SDK's own
 * (`maxRetries` on the client); whatever still fails is thrown for the caller to fall back on.
 */
export class ClaudeRouter {
  readonly #options: ClaudeRouterOptions;

  constructor(options: ClaudeRouterOptions) {
    this.#options = options;
  }

  async plan(request: RouteRequest, logger: Logger): Promise<RouterPlan> {
    const messages: MessageParam[] = [{ role: 'user', content: routerUserPrompt(request) }];
    const first = await this.#ask(messages, logger);
    const firstAnswer = readPlan(first);
    if (firstAnswer.plan) return firstAnswer.plan;

    logger.warn({ problem: firstAnswer.problem }, 'router answer invalid, asking once more');
    const retry: MessageParam[] = firstAnswer.toolUseId
      ? [
          ...messages,
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: firstAnswer.toolUseId, name: ROUTE_TOOL_NAME, input: firstAnswer.input }],
          },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: firstAnswer.toolUseId,
                is_error: true,
                content: `Invalid input: ${firstAnswer.problem}. Call ${ROUTE_TOOL_NAME} again with valid input.`,
              },
            ],
          },
        ]
      : messages;
    const second = readPlan(await this.#ask(retry, logger));
    if (second.plan) return second.plan;
    throw new InvalidRouterAnswerError(`the router answered invalidly twice: ${second.problem}`);
  }

  async #ask(messages: MessageParam[], logger: Logger): Promise<Message> {
    const response = await this.#options.client.messages.create({
      model: this.#options.model,
      max_tokens: this.#options.maxTokens,
      system: ROUTER_SYSTEM_PROMPT,
      tools: [ROUTE_TOOL],
      tool_choice: { type: 'tool', name: ROUTE_TOOL_NAME },
      messages,
    });
    logger.debug(
      { usage: response.usage, stop_reason: response.stop_reason, model: response.model },
      'router answered',
    );
    return response;
  }
}

interface ReadPlan {
  plan?: RouterPlan;
  problem?: string;
  toolUseId?: string;
  input?: unknown;
}

function readPlan(response: Message): ReadPlan {
  const call = response.content.find((block) => block.type === 'tool_use' && block.name === ROUTE_TOOL_NAME);
  if (call?.type !== 'tool_use') return { problem: `no ${ROUTE_TOOL_NAME} call (stop: ${response.stop_reason})` };
  const parsed = RouterPlan.safeParse(call.input);
  if (parsed.success) return { plan: parsed.data };
  return { problem: formatIssues(parsed.error), toolUseId: call.id, input: call.input };
}
