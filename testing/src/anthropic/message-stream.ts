import type { ServerResponse } from 'node:http';
import type { AnthropicMessage } from './scripted-reply.ts';

/**
 * Sends a finished Message as the API streams one (`stream: true`): named server-sent events
 * message_start, one start/delta/stop triple per content block, message_delta, message_stop.
 */
export function writeMessageStream(res: ServerResponse, message: AnthropicMessage, requestId: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': requestId });
  const send = (event: Record<string, unknown> & { type: string }) =>
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  const { usage, content } = message;
  send({
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
  });
  send({ type: 'ping' });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      send({ type: 'content_block_start', index, content_block: { ...block, text: '' } });
      send({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      const partial = JSON.stringify(block.input);
      send({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } });
    }
    send({ type: 'content_block_stop', index });
  });
  send({
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: null, stop_details: null },
    usage: {
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      output_tokens: usage.output_tokens,
      server_tool_use: null,
    },
  });
  send({ type: 'message_stop' });
  res.end();
}
