/**
 * The built-in `llm` handler in a real worker process against a real foreman. The model endpoint is
 * outside Gaffer, so it is stood in for by test/fixtures/openai-stand-in.ts (an OpenAI-compatible server).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAiStandIn, type OpenAiStandIn } from '../fixtures/openai-stand-in.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

let standIn: OpenAiStandIn | null = null;
afterEach(async () => {
  await standIn?.close();
  standIn = null;
});

const FAST_RETRY = ['--retry-backoff-ms', '10', '--retry-backoff-max-ms', '20'];

async function setup(standInOptions: Parameters<typeof startOpenAiStandIn>[0] = {}, workerArgs: string[] = []) {
  standIn = await startOpenAiStandIn(standInOptions);
  const foreman = await startForeman(FAST_RETRY);
  const worker = await spawnWorker(foreman.wsUrl, { args: ['--llm-base-url', standIn.url, '--llm-model', 'stand-in-7b', ...workerArgs] });
  return { foreman, worker, standIn };
}

describe('the llm task', () => {
  it('answers a prompt with text, usage and finish_reason, passing other fields through', async () => {
    const { foreman, standIn } = await setup();
    const id = await submit(foreman.api, { type: 'llm', params: { prompt: 'name three rivers', temperature: 0.2, top_k: 5 } });
    const t = await waitForTask(foreman.api, id, settled, 'llm task settled');
    expect(t.state).toBe('succeeded');
    expect(t.result).toEqual({
      text: 'echo: name three rivers',
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      finish_reason: 'stop',
    });
    const sent = standIn.requests[0].body;
    expect(sent).toMatchObject({ model: 'stand-in-7b', temperature: 0.2, top_k: 5, stream: true, messages: [{ role: 'user', content: 'name three rivers' }] });
    expect(sent).not.toHaveProperty('prompt');
  });

  it('takes messages and a model of its own, and a bare string as the prompt; max_tokens ends with length', async () => {
    const { foreman } = await setup({}, ['--no-llm-stream']);
    const a = await submit(foreman.api, { type: 'llm', params: { model: 'other', max_tokens: 2, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'one two three' }] } });
    const b = await submit(foreman.api, { type: 'llm', params: 'hello there' });
    const ta = await waitForTask(foreman.api, a, settled, 'a settled');
    const tb = await waitForTask(foreman.api, b, settled, 'b settled');
    expect(ta.result).toMatchObject({ text: 'echo: one', finish_reason: 'length' });
    expect(standIn!.requests.find((r) => r.prompt === 'one two three')?.body).toMatchObject({ model: 'other', stream: false });
    expect(tb.result.text).toBe('echo: hello there');
  });

  it('retries a 5xx as a new attempt and fails a 400 at once, without retrying', async () => {
    const { foreman, standIn } = await setup();
    standIn.fail('flaky', [503]);
    standIn.fail('malformed', [400]);
    const flaky = await submit(foreman.api, { type: 'llm', params: { prompt: 'flaky' } });
    const bad = await submit(foreman.api, { type: 'llm', params: { prompt: 'malformed' } });
    const tf = await waitForTask(foreman.api, flaky, settled, 'flaky settled');
    const tb = await waitForTask(foreman.api, bad, settled, 'bad settled');
    expect(tf.state).toBe('succeeded');
    expect(tf.attempts.map((a: any) => [a.outcome, a.error?.code ?? null])).toEqual([['failed', 'LLM_UNAVAILABLE'], ['succeeded', null]]);
    expect(tb.state).toBe('failed');
    expect(tb.attempt).toBe(1);
    expect(tb.error).toMatchObject({ code: 'LLM_REJECTED', retryable: false });
    expect(tb.error.message).toContain('scripted 400');
    expect(standIn.requests.filter((r) => r.prompt === 'malformed')).toHaveLength(1);
  });

  it('waits out a 429 retry-after inside the attempt, pausing the worker\'s other llm calls too', async () => {
    const { foreman, standIn } = await setup({ retryAfterSeconds: 0.4 });
    standIn.fail('busy', [429]);
    const busy = await submit(foreman.api, { type: 'llm', params: { prompt: 'busy' } });
    await waitFor(() => standIn.requests.some((r) => r.prompt === 'busy'), 'the 429 was answered');
    const other = await submit(foreman.api, { type: 'llm', params: { prompt: 'other' } });
    const tb = await waitForTask(foreman.api, busy, settled, 'busy settled');
    await waitForTask(foreman.api, other, settled, 'other settled');
    expect(tb.state).toBe('succeeded');
    expect(tb.attempt).toBe(1);
    const [first, second] = standIn.requests.filter((r) => r.prompt === 'busy');
    expect(second.at - first.at).toBeGreaterThanOrEqual(400);
    // The other task, submitted during the pause, was held until the pause ended.
    const otherAt = standIn.requests.find((r) => r.prompt === 'other')!.at;
    expect(otherAt - first.at).toBeGreaterThanOrEqual(400);
  });

  it('fails a 429 whose retry-after is past --llm-max-retry-after-ms as transient RATE_LIMITED', async () => {
    const { foreman, standIn } = await setup({ retryAfterSeconds: 30 }, ['--llm-max-retry-after-ms', '1000']);
    standIn.fail('slow down', [429]);
    const id = await submit(foreman.api, { type: 'llm', params: { prompt: 'slow down' } });
    const t = await waitForTask(foreman.api, id, settled, 'settled after the retry');
    expect(t.state).toBe('succeeded');
    expect(t.attempts[0]).toMatchObject({ outcome: 'failed', error: { code: 'RATE_LIMITED', retryable: true } });
  });

  it('reports tokens so far as progress while it streams, and cancelling aborts the request', async () => {
    const { foreman, standIn } = await setup({ tokenDelayMs: 100 });
    const prompt = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const id = await submit(foreman.api, { type: 'llm', params: { prompt, max_tokens: 100 } });
    const running = await waitForTask(foreman.api, id, (t) => /^\d+ tokens$/.test(t.progress?.message ?? '') && t.progress.fraction > 0, 'progress in tokens');
    expect(running.state).toBe('running');
    const tokens = Number(running.progress.message.split(' ')[0]);
    expect(running.progress.fraction).toBeCloseTo(tokens / 100, 5);
    await foreman.api.request('POST', `/tasks/${id}/cancel`);
    const t = await waitForTask(foreman.api, id, settled, 'cancelled');
    expect(t.state).toBe('cancelled');
    await waitFor(() => standIn.requests[0].aborted, 'the stand-in saw the request aborted');
    expect((await getTask(foreman.api, id)).result).toBeNull();
  });

  it('counts an unreachable endpoint as transient (LLM_CONNECTION)', async () => {
    standIn = await startOpenAiStandIn();
    const url = standIn.url;
    await standIn.close();
    standIn = null;
    const foreman = await startForeman([...FAST_RETRY, '--max-attempts', '2']);
    await spawnWorker(foreman.wsUrl, { args: ['--llm-base-url', url] });
    const id = await submit(foreman.api, { type: 'llm', params: { prompt: 'anyone?' } });
    const t = await waitForTask(foreman.api, id, settled, 'settled');
    expect(t.state).toBe('failed');
    expect(t.attempts.map((a: any) => a.error.code)).toEqual(['LLM_CONNECTION', 'LLM_CONNECTION']);
    // The first attempt failed transiently and was retried; the last one, and the task, say no retry is left.
    expect(t.attempts.map((a: any) => a.error.retryable)).toEqual([true, false]);
    expect(t.error.retryable).toBe(false);
  });
});
