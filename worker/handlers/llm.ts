/**
 * The built-in `llm` handler: one chat completion from any OpenAI-compatible
 * endpoint (vLLM, llama.cpp's server, Ollama, hosted APIs).
 *
 * Plain `fetch`, not the `openai` package: the package is not a dependency of
 * Gaffer (and adding one is not on the table), and what the handler needs from
 * it is small: one POST, a server-sent-events reader, and our own retry
 * classification. The official client would also retry on its own (twice, by
 * default), hiding attempts from the foreman's retry accounting; here every
 * retry the user sees is a Gaffer attempt, except the 429 waits described below.
 *
 * Classification: 408, 409, 429 and 5xx, timeouts and connection errors are
 * transient (TransientError: the foreman retries with backoff); any other 4xx
 * is permanent (PermanentError: no retry). The same split the official
 * clients use. A 429's `retry-after` (or `retry-after-ms`) is honoured: every
 * `llm` call of this worker waits until then, and the attempt tries again, up
 * to `llmMaxRateLimitWaits` times and `llmMaxRetryAfterMs` per wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GafferError, PermanentError } from '../../shared/errors.js';
import { transient, type LlmErrorCode } from './llm-errors.js';
import type { TaskContext, TaskHandler } from '../task-context.js';
import type { LlmOptions } from './llm-options.js';
import { readChatStream } from './llm-stream.js';

/** What an `llm` task returns. */
export interface LlmResult {
  text: string;
  usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  finish_reason: string | null;
}

/** Params of an `llm` task: a prompt or messages, plus anything the endpoint takes (passed through). */
export type LlmParams = string | ({ prompt?: string; messages?: unknown[]; model?: string } & Record<string, unknown>);

/** Statuses worth another attempt besides 5xx. */
const TRANSIENT_STATUSES = new Set([408, 409, 429]);

/** Least time between two progress reports of one task, in ms: tokens arrive far faster than anyone reads them. */
const PROGRESS_EVERY_MS = 200;

/** The request body for `params`: the prompt becomes one user message; every other field passes through. */
export function chatBody(params: LlmParams, defaultModel: string | null, stream: boolean): Record<string, unknown> {
  const p = typeof params === 'string' ? { prompt: params } : params;
  if (p === null || typeof p !== 'object' || Array.isArray(p)) {
    throw new PermanentError('llm params must be a string or an object with prompt or messages', { code: 'INVALID_PARAMS' });
  }
  const { prompt, messages, ...rest } = p;
  let chat: unknown[];
  if (Array.isArray(messages) && messages.length > 0) chat = messages;
  else if (typeof prompt === 'string') chat = [{ role: 'user', content: prompt }];
  else throw new PermanentError('llm params need prompt (a string) or messages (a non-empty array)', { code: 'INVALID_PARAMS' });
  const body: Record<string, unknown> = { ...rest, messages: chat };
  if (body.model === undefined && defaultModel !== null) body.model = defaultModel;
  if (stream) {
    body.stream = true;
    // Ask for usage in the last chunk (OpenAI, vLLM, llama.cpp and Ollama all honour it).
    body.stream_options ??= { include_usage: true };
  } else {
    body.stream = false;
  }
  return body;
}

/** Milliseconds a 429 asks us to wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date; null when absent. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const m = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof m === 'string') return m.slice(0, 500);
  } catch {
    // Not JSON: use the text as it is.
  }
  return text.slice(0, 500) || res.statusText;
}

/**
 * Makes the `llm` handler for one endpoint. One handler serves every `llm` task of a worker:
 * it holds the worker-wide pause a 429 starts.
 */
export function createLlmHandler(options: Pick<LlmOptions, 'llmBaseUrl' | 'llmApiKey' | 'llmModel' | 'llmRequestTimeoutMs' | 'llmStream' | 'llmMaxRetryAfterMs' | 'llmMaxRateLimitWaits'>): TaskHandler<LlmParams, LlmResult> {
  if (!options.llmBaseUrl) throw new TypeError('option llmBaseUrl is required for the llm handler');
  const url = `${options.llmBaseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: options.llmStream ? 'text/event-stream' : 'application/json' };
  if (options.llmApiKey) headers.authorization = `Bearer ${options.llmApiKey}`;
  /** Until when every call of this worker waits, after a 429 (epoch ms). */
  let pausedUntil = 0;

  return async (params, ctx) => {
    const body = JSON.stringify(chatBody(params, options.llmModel, options.llmStream));
    for (let waits = 0; ; waits++) {
      const pauseMs = pausedUntil - Date.now();
      if (pauseMs > 0) await sleep(pauseMs, undefined, { signal: ctx.signal });
      const timeout = AbortSignal.timeout(options.llmRequestTimeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body, signal });
      } catch (err) {
        throw transportError(err, ctx, timeout, options.llmRequestTimeoutMs);
      }
      if (res.status === 429) {
        const waitMs = retryAfterMs(res.headers);
        const message = await errorMessage(res);
        if (waitMs === null || waits >= options.llmMaxRateLimitWaits || waitMs > options.llmMaxRetryAfterMs) {
          throw transient('RATE_LIMITED', `rate limited by the endpoint (429${waitMs === null ? '' : `, retry-after ${Math.ceil(waitMs)} ms`}): ${message}`);
        }
        pausedUntil = Math.max(pausedUntil, Date.now() + waitMs);
        ctx.log('endpoint rate limited this worker; pausing its llm calls', { retryAfterMs: waitMs });
        continue;
      }
      if (!res.ok) {
        const message = `endpoint answered ${res.status}: ${await errorMessage(res)}`;
        if (res.status >= 500 || TRANSIENT_STATUSES.has(res.status)) throw transient('LLM_UNAVAILABLE', message);
        throw new PermanentError(message, { code: 'LLM_REJECTED' satisfies LlmErrorCode });
      }
      try {
        return options.llmStream && (res.headers.get('content-type') ?? '').includes('text/event-stream')
          ? await readChatStream(res, progressReporter(ctx, params))
          : parseCompletion(await res.json());
      } catch (err) {
        if (err instanceof GafferError) throw err;
        throw transportError(err, ctx, timeout, options.llmRequestTimeoutMs);
      }
    }
  };
}

/** Turns a fetch or body-read failure into the right error: the task's own abort, a timeout, or a broken connection. */
function transportError(err: unknown, ctx: TaskContext, timeout: AbortSignal, timeoutMs: number): unknown {
  // The task was cancelled, timed out or is shutting down: let the runner see its own reason.
  if (ctx.signal.aborted) return ctx.signal.reason;
  if (timeout.aborted) return transient('LLM_TIMEOUT', `the endpoint did not answer within ${timeoutMs} ms (llmRequestTimeoutMs)`, err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  return transient('LLM_CONNECTION', `cannot reach the endpoint: ${detail}`, err);
}

/** Reports tokens so far, at most every PROGRESS_EVERY_MS; the fraction is against max_tokens when the task sets it. */
function progressReporter(ctx: TaskContext, params: LlmParams): (tokens: number) => void {
  const max = typeof params === 'object' ? Number(params.max_tokens ?? params.max_completion_tokens) : NaN;
  let last = 0;
  return (tokens) => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    ctx.progress(Number.isFinite(max) && max > 0 ? Math.min(1, tokens / max) : 0, `${tokens} tokens`);
  };
}

/** The result of a non-streamed chat completion. */
export function parseCompletion(json: unknown): LlmResult {
  const j = json as { choices?: Array<{ message?: { content?: unknown }; text?: unknown; finish_reason?: unknown }>; usage?: LlmResult['usage'] };
  const choice = j?.choices?.[0];
  if (!choice) throw transient('LLM_BAD_RESPONSE', 'the endpoint answered without choices');
  const text = choice.message?.content ?? choice.text ?? '';
  return { text: typeof text === 'string' ? text : JSON.stringify(text), usage: j.usage ?? null, finish_reason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null };
}
