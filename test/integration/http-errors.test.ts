/**
 * Every HTTP error in Gaffer's shape `{statusCode, code, message, field?}`, with a code from
 * API_ERRORS and the real field named: schema failures (also inside `anyOf` job bodies and NDJSON
 * lines), parser failures, body limits, bad URLs, unknown routes, and ids that are not valid Unicode.
 */
import { describe, expect, it } from 'vitest';
import { API_ERRORS } from '../../shared/errors.js';
import { startForeman } from '../helpers/processes.js';

interface Reply {
  status: number;
  body: any;
}

async function call(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

const post = (url: string, body: string, contentType = 'application/json') => call(url, { method: 'POST', headers: { 'content-type': contentType }, body });

function expectShape(r: Reply, what: string): void {
  expect(Object.keys(r.body).sort(), what).toEqual(r.body.field === undefined ? ['code', 'message', 'statusCode'] : ['code', 'field', 'message', 'statusCode']);
  expect(r.body.statusCode, what).toBe(r.status);
  expect(API_ERRORS, what).toHaveProperty(r.body.code);
  expect(API_ERRORS[r.body.code as keyof typeof API_ERRORS].status, what).toBe(r.status);
}

describe('HTTP errors', () => {
  it('have one shape, a catalogued code and the real field, whatever failed', async () => {
    const foreman = await startForeman(['--max-body-bytes', '4096']);
    const u = foreman.url;
    const cases: Array<[string, Promise<Reply>, number, string, string | undefined]> = [
      ['second task of a {tasks} job', post(`${u}/jobs`, '{"tasks":[{"type":"a"},{"type":5}]}'), 400, 'INVALID_REQUEST', 'body/tasks/1/type'],
      ['second task of an array job', post(`${u}/jobs`, '[{"type":"a"},{"type":5}]'), 400, 'INVALID_REQUEST', 'body/1/type'],
      ['job object without tasks', post(`${u}/jobs`, '{"type":"a"}'), 400, 'INVALID_REQUEST', 'body/tasks'],
      ['unknown property', post(`${u}/tasks`, '{"type":"a","colour":"red"}'), 400, 'INVALID_REQUEST', 'body/colour'],
      ['missing type', post(`${u}/tasks`, '{}'), 400, 'INVALID_REQUEST', 'body/type'],
      ['empty JSON body', post(`${u}/tasks`, ''), 400, 'INVALID_JSON', 'body'],
      ['invalid JSON', post(`${u}/tasks`, '{"type": '), 400, 'INVALID_JSON', 'body'],
      ['body over maxBodyBytes', post(`${u}/tasks`, JSON.stringify({ type: 'a', params: 'x'.repeat(8000) })), 413, 'BODY_TOO_LARGE', 'body'],
      ['unsupported content type', post(`${u}/tasks`, '<task/>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'headers/content-type'],
      ['job body as text/plain', post(`${u}/jobs`, '{"type":', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'headers/content-type'],
      ['job without a body', call(`${u}/jobs`, { method: 'POST' }), 400, 'INVALID_REQUEST', 'body'],
      ['unknown route', call(`${u}/nope`), 404, 'ROUTE_NOT_FOUND', 'url'],
      ['bad percent-encoding', call(`${u}/tasks/%E0%A4%A`), 400, 'BAD_URL', 'url'],
      ['id over 200 characters', call(`${u}/tasks/${'x'.repeat(300)}`), 400, 'INVALID_REQUEST', 'params/id'],
      ['path parameter over 1,000 characters', call(`${u}/tasks/${'x'.repeat(1200)}`), 414, 'URL_TOO_LONG', 'url'],
      ['bad query', call(`${u}/tasks?limit=abc`), 400, 'INVALID_REQUEST', 'querystring/limit'],
      ['unknown task', call(`${u}/tasks/t_nope`), 404, 'TASK_NOT_FOUND', 'id'],
    ];
    for (const [what, pending, status, code, field] of cases) {
      const r = await pending;
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.body.code, what).toBe(code);
      expect(r.body.field, what).toBe(field);
      expectShape(r, what);
    }
  });

  it('names the NDJSON line (1-based, counting blank lines) of a task that fails its schema', async () => {
    const foreman = await startForeman();
    const lines: string[] = Array.from({ length: 600 }, (_, i) => (i === 500 ? '{"type":5}' : '{"type":"echo"}'));
    lines.splice(10, 0, '');
    const r = await post(`${foreman.url}/jobs`, `${lines.join('\n')}\n`, 'application/x-ndjson');
    expect(r).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/line 502/type', message: 'body/line 502/type must be string' } });
    const broken = await post(`${foreman.url}/jobs`, '{"type":"echo"}\n{nope}\n', 'application/x-ndjson');
    expect(broken).toMatchObject({ status: 400, body: { code: 'INVALID_NDJSON', field: 'body/line 2' } });
  });

  it('refuses ids, types and keys that are not valid Unicode, naming the field, instead of storing them changed', async () => {
    const foreman = await startForeman();
    const u = foreman.url;
    const cases: Array<[string, string, string, string]> = [
      ['/tasks', '{"type":"a\\ud800b"}', 'application/json', 'body/type'],
      ['/tasks', '{"type":"a","key":"k\\udfffx"}', 'application/json', 'body/key'],
      ['/tasks', '{"type":"a\\ufffdb"}', 'application/json', 'body/type'],
      ['/jobs', '{"tasks":[{"type":"ok"}],"key":"\\ud83d"}', 'application/json', 'body/key'],
      ['/jobs', '{"type":"ok"}\n{"type":"x\\udc00"}\n', 'application/x-ndjson', 'body/line 2/type'],
    ];
    for (const [path, body, contentType, field] of cases) {
      const r = await post(`${u}${path}`, body, contentType);
      expect(r.status, body).toBe(400);
      expect(r.body, body).toMatchObject({ code: 'INVALID_REQUEST', field });
      expect(r.body.message, body).toContain('valid Unicode');
    }
    // A well-formed pair (an emoji) is fine, and reads back unchanged.
    const ok = await post(`${u}/tasks`, '{"type":"emoji-\\ud83d\\ude00"}');
    expect(ok.status).toBe(202);
    const task = await call(`${u}/tasks/${ok.body.id}`);
    expect(task.body.type).toBe('emoji-\u{1F600}');
  });
});
