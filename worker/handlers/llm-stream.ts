/**
 * Reads a streamed chat completion (server-sent events, `data: {json}` lines
 * ending with `data: [DONE]`) into one result, counting content chunks as
 * tokens so far. Servers send one token per chunk (OpenAI, vLLM, llama.cpp,
 * Ollama), so the count is the token count to within a few.
 */
import { transient } from './llm-errors.js';
import type { LlmResult } from './llm.js';

interface ChatChunk {
  choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: LlmResult['usage'];
  error?: { message?: string } | string;
}

/**
 * Consumes `res.body` to the end.
 * @param onTokens called after every content chunk with the number received so far.
 * @throws TransientError (LLM_BAD_RESPONSE) when the server reports an error mid-stream or the stream ends early.
 */
export async function readChatStream(res: Response, onTokens: (tokens: number) => void): Promise<LlmResult> {
  if (!res.body) throw transient('LLM_BAD_RESPONSE', 'the endpoint sent no body');
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let usage: LlmResult['usage'] = null;
  let finishReason: string | null = null;
  let tokens = 0;
  let done = false;
  let buffered = '';
  const onLine = (line: string) => {
    if (!line.startsWith('data:')) return; // comments (": keep-alive"), event names, ids
    const data = line.slice(5).trim();
    if (data === '[DONE]') {
      done = true;
      return;
    }
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      throw transient('LLM_BAD_RESPONSE', `the endpoint streamed a line that is not JSON: ${data.slice(0, 200)}`);
    }
    if (chunk.error) {
      const message = typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'unknown error');
      throw transient('LLM_BAD_RESPONSE', `the endpoint failed mid-stream: ${message}`);
    }
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) return;
    if (typeof choice.delta?.content === 'string' && choice.delta.content !== '') {
      parts.push(choice.delta.content);
      onTokens(++tokens);
    }
    if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
  };
  for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl).replace(/\r$/, ''));
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered !== '') onLine(buffered);
  // A stream cut before [DONE] and before any finish reason is a dropped connection, not an answer.
  if (!done && finishReason === null) throw transient('LLM_BAD_RESPONSE', 'the stream ended before the completion finished');
  return { text: parts.join(''), usage, finish_reason: finishReason };
}
