/** Options of the built-in `llm` handler: every tunable has its one default here. */

export interface LlmOptions {
  /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1; the `llm` handler is registered only when set. Default none. */
  llmBaseUrl: string | null;
  /** Bearer key sent to the endpoint (hosted APIs need one; vLLM, llama.cpp and Ollama usually do not). Default none. */
  llmApiKey: string | null;
  /** Model used when a task names none. Default none (the task must name one, or the server picks). */
  llmModel: string | null;
  /** Longest one request may take before it counts as a transient timeout, in ms. Default 600000. */
  llmRequestTimeoutMs: number;
  /** Stream the response so the task reports tokens so far as progress. Default true. */
  llmStream: boolean;
  /**
   * After a 429, the longest `retry-after` waited inside the attempt (every `llm` call of this
   * worker pauses until then); a longer one ends the attempt as a transient failure, in ms. Default 60000.
   */
  llmMaxRetryAfterMs: number;
  /** 429s waited out inside one attempt before it fails as a transient RATE_LIMITED. Default 3. */
  llmMaxRateLimitWaits: number;
}

export const LLM_DEFAULTS: Readonly<LlmOptions> = Object.freeze({
  llmBaseUrl: null,
  llmApiKey: null,
  llmModel: null,
  llmRequestTimeoutMs: 600_000,
  llmStream: true,
  llmMaxRetryAfterMs: 60_000,
  llmMaxRateLimitWaits: 3,
});

/** A few words on each option for `--help`; typed over every key, so a new option cannot go undescribed. */
export const LLM_OPTION_HELP: Readonly<Record<keyof LlmOptions, string>> = Object.freeze({
  llmBaseUrl: 'OpenAI-compatible API base URL; registers the llm handler',
  llmApiKey: 'bearer key sent to the LLM endpoint',
  llmModel: 'model used when a task names none',
  llmRequestTimeoutMs: 'longest one LLM request may take, ms',
  llmStream: 'stream responses to report tokens so far as progress',
  llmMaxRetryAfterMs: 'longest 429 retry-after waited inside an attempt, ms',
  llmMaxRateLimitWaits: '429s waited out in one attempt before it fails',
});

function requireInt(name: keyof LlmOptions, value: unknown, min: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new TypeError(`option ${name} must be an integer >= ${min}, got ${String(value)}`);
}

/**
 * Merges `partial` over the defaults and checks every field.
 * @throws TypeError naming the bad field.
 */
export function resolveLlmOptions(partial: Partial<LlmOptions> = {}): Readonly<LlmOptions> {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const o: LlmOptions = { ...LLM_DEFAULTS, ...defined };
  if (o.llmBaseUrl !== null && !/^https?:\/\/[^/]+/.test(o.llmBaseUrl)) throw new TypeError(`option llmBaseUrl must be an http(s) URL, got ${o.llmBaseUrl}`);
  requireInt('llmRequestTimeoutMs', o.llmRequestTimeoutMs, 1);
  requireInt('llmMaxRetryAfterMs', o.llmMaxRetryAfterMs, 0);
  requireInt('llmMaxRateLimitWaits', o.llmMaxRateLimitWaits, 0);
  return Object.freeze(o);
}
