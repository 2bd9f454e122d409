/** The llm handler's pure parts: the request body, retry-after parsing, and the stream reader. */
import { describe, expect, it } from 'vitest';
import { chatBody, retryAfterMs } from '../../worker/handlers/llm.js';
import { readChatStream } from '../../worker/handlers/llm-stream.js';

const sse = (lines: string[]) => new Response(lines.join('\n'), { headers: { 'content-type': 'text/event-stream' } });

describe('llm handler parts', () => {
  it('turns a prompt into one user message and keeps other fields; a bare string is a prompt', () => {
    expect(chatBody({ prompt: 'hi', temperature: 0 }, 'm', true)).toEqual({
      temperature: 0, model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
    });
    expect(chatBody('hi', null, false)).toEqual({ messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect(chatBody({ prompt: 'x', model: 'own' }, 'default', false).model).toBe('own');
  });

  it('refuses params with neither prompt nor messages as a permanent INVALID_PARAMS', () => {
    for (const bad of [{}, { messages: [] }, { prompt: 3 }, [1], null]) {
      expect(() => chatBody(bad as never, null, false)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMS', name: 'PermanentError' }));
    }
  });

  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }))).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 7_000)).toBe(3000);
    expect(retryAfterMs(new Headers({}))).toBeNull();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeNull();
  });

  it('assembles a stream, counting tokens, taking usage from the last chunk and ignoring comments', async () => {
    const counts: number[] = [];
    const result = await readChatStream(
      sse([
        ': keep-alive',
        'data: {"choices":[{"delta":{"role":"assistant"}}]}',
        'data: {"choices":[{"delta":{"content":"Hel"}}]}',
        'data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}',
        'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}',
        'data: [DONE]',
      ]),
      (n) => counts.push(n),
    );
    expect(result).toEqual({ text: 'Hello', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }, finish_reason: 'stop' });
    expect(counts).toEqual([1, 2]);
  });

  it('treats a stream cut off before it finished, or an error chunk, as transient', async () => {
    await expect(readChatStream(sse(['data: {"choices":[{"delta":{"content":"a"}}]}']), () => {})).rejects.toMatchObject({ code: 'LLM_BAD_RESPONSE' });
    await expect(readChatStream(sse(['data: {"error":{"message":"overloaded"}}']), () => {})).rejects.toThrow(/overloaded/);
  });
});
