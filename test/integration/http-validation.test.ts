import { describe, expect, it } from 'vitest';
import { startForeman } from '../helpers/processes.js';
import { postRaw } from '../helpers/tasks.js';

const post = postRaw;

describe('bad HTTP input', () => {
  it('gets a 400 naming the field, and the foreman keeps serving', async () => {
    const foreman = await startForeman();
    const cases: Array<[string, string, string]> = [
      ['/tasks', '{}', 'body/type'],
      ['/tasks', '{"type": 5}', 'body/type'],
      ['/tasks', '{"type": "echo", "priority": "high"}', 'body/priority'],
      ['/tasks', '{"type": "echo", "maxAttempts": 0}', 'body/maxAttempts'],
      ['/tasks', '{"type": "echo", "colour": "red"}', 'body'],
      ['/jobs', '[]', 'body'],
      ['/jobs', '[{"type": "echo"}, {"params": 1}]', 'body'],
    ];
    for (const [path, body, field] of cases) {
      const res = await post(`${foreman.url}${path}`, body);
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(res.body.code).toBe('INVALID_REQUEST');
      expect(res.body.field.startsWith(field), `${res.body.field} for ${body}`).toBe(true);
    }
    const broken = await post(`${foreman.url}/tasks`, '{"type": ');
    expect(broken.status).toBe(400);
    const ndjson = await post(`${foreman.url}/jobs`, '{"type":"echo"}\n{nope}\n', 'application/x-ndjson');
    expect(ndjson).toMatchObject({ status: 400, body: { code: 'INVALID_NDJSON', field: 'body/line 2' } });
    const missing = await fetch(`${foreman.url}/tasks/t_nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('TASK_NOT_FOUND');
    const ok = await post(`${foreman.url}/jobs`, '{"type":"echo"}\n{"type":"sum","params":{"numbers":[1]}}\n', 'application/x-ndjson');
    expect(ok).toMatchObject({ status: 202, body: { count: 2 } });
  });
});
