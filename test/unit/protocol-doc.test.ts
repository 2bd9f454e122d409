/** PROTOCOL.md must list every message kind, field, error code and close code that shared/ defines, so the doc cannot drift. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODE_TASK_ERRORS, PROTOCOL_ERRORS, TASK_ERROR_CODES } from '../../shared/errors.js';
import { CLOSE_CODES, FOREMAN_KINDS, MESSAGE_SPECS, PROTOCOL_VERSION, WORKER_KINDS, WORKER_WS_PATH } from '../../shared/protocol.js';
import type { Spec } from '../../shared/schema.js';

const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
const lines = doc.split('\n');

/** The first cell of every table row, e.g. "`hello`" for "| `hello` | worker → foreman | …". */
const firstCells = lines.filter((l) => l.startsWith('|')).map((l) => l.split('|')[1]?.trim() ?? '');

/** The lines of the section under `heading` (up to the next heading of the same or a higher level). */
function section(heading: string): string[] {
  const level = heading.match(/^#+/)?.[0].length ?? 2;
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && (l.match(/^#+/)?.[0].length ?? 9) <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Shapes the doc names once in its value-types table instead of repeating their fields. */
const NAMED_SHAPES: Record<string, string[]> = {
  TaskRef: ['attempt', 'taskId'],
  WireError: ['code', 'errorClass?', 'message', 'retryAfterMs?', 'retryable', 'stack?'],
};

function namedShape(obj: Record<string, Spec>): string | null {
  const keys = Object.keys(obj).sort().join(',');
  return Object.entries(NAMED_SHAPES).find(([, fields]) => fields.join(',') === keys)?.[0] ?? null;
}

/**
 * What a kind's section must mention: every object key its spec names, at any depth
 * (without the optional marker), as `key`; or, for a named shape, the shape's name.
 */
function fieldNames(spec: Spec, top = true): string[] {
  if (typeof spec === 'string') return [];
  if (Array.isArray(spec)) return fieldNames(spec[0] as Spec, false);
  const obj = spec as Record<string, Spec>;
  if ('enum' in obj && Array.isArray(obj.enum)) return [];
  if ('*' in obj) return fieldNames(obj['*'], false);
  const shape = top ? null : namedShape(obj);
  if (shape) return [shape];
  return Object.entries(obj).flatMap(([k, v]) => [`\`${k.replace(/\?$/, '')}`, ...fieldNames(v, false)]);
}

const kinds = Object.keys(MESSAGE_SPECS) as Array<keyof typeof MESSAGE_SPECS>;

describe('PROTOCOL.md', () => {
  it('states the endpoint path and the protocol version', () => {
    expect(doc).toContain(`\`${WORKER_WS_PATH}\``);
    expect(doc).toMatch(new RegExp(`Protocol version: \\*\\*${PROTOCOL_VERSION}\\*\\*`));
  });

  it('has a messages table whose first column lists every kind of MESSAGE_SPECS, and nothing else', () => {
    const table = section('## Messages').filter((l) => l.startsWith('| `'));
    const listed = table.map((l) => l.split('|')[1].trim().replace(/`/g, ''));
    expect(listed.sort()).toEqual([...kinds].sort());
  });

  it('gives the right direction for every kind', () => {
    const table = section('## Messages').filter((l) => l.startsWith('| `'));
    for (const kind of WORKER_KINDS) expect(table.find((l) => l.startsWith(`| \`${kind}\` |`))).toContain('worker → foreman');
    for (const kind of FOREMAN_KINDS) expect(table.find((l) => l.startsWith(`| \`${kind}\` |`))).toContain('foreman → worker');
  });

  it('has a field table for every kind naming each of its fields', () => {
    const missing: string[] = [];
    for (const kind of kinds) {
      const heading = lines.find((l) => l.startsWith(`### \`${kind}\``));
      if (!heading) {
        missing.push(`section for ${kind}`);
        continue;
      }
      const body = section(heading).join('\n');
      for (const token of fieldNames(MESSAGE_SPECS[kind])) {
        // A field is `name` or `name?` in backticks; a named shape is its bare name.
        const found = token.startsWith('`') ? body.includes(`${token}\``) || body.includes(`${token}?\``) : body.includes(token);
        if (!found) missing.push(`${kind}: ${token}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('defines the named shapes it uses with their fields', () => {
    const types = section('## Value types');
    for (const [name, fields] of Object.entries(NAMED_SHAPES)) {
      const row = types.find((l) => l.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      for (const f of fields) expect(row, `${name}.${f}`).toContain(f);
    }
  });

  it('lists every PROTOCOL_ERRORS code, with its close code, in the first column of a table', () => {
    for (const [code, entry] of Object.entries(PROTOCOL_ERRORS)) {
      const row = lines.find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      const closeCell = (row as string).split('|')[2].trim();
      expect(closeCell, code).toBe(entry.closeCode === null ? '—' : String(entry.closeCode));
    }
  });

  it('lists every TASK_ERROR_CODES code in the first column of a table', () => {
    const missing = Object.keys(TASK_ERROR_CODES).filter((code) => !firstCells.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('lists every CODE_TASK_ERRORS code in the first column of a table, saying whether it is retried', () => {
    for (const [code, entry] of Object.entries(CODE_TASK_ERRORS)) {
      const row = lines.find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      expect((row as string).split('|')[2].trim(), code).toBe(entry.retryable ? 'yes' : 'no');
    }
  });

  it('lists every CLOSE_CODES number, with its name, in the first column of a table', () => {
    for (const [name, code] of Object.entries(CLOSE_CODES)) {
      const row = lines.find((l) => l.startsWith(`| ${code} |`));
      expect(row, `${name} ${code}`).toBeDefined();
      expect(row).toContain(`\`${name}\``);
    }
  });

  it('names every close reason string the foreman and the reference worker send', () => {
    const reasons = section('## Close codes').join('\n');
    // Closes for a protocol error carry its code.
    for (const [code, entry] of Object.entries(PROTOCOL_ERRORS)) if (entry.closeCode !== null && entry.closeCode !== 1009) expect(reasons, code).toContain(`\`${code}\``);
    // Every literal reason in the sources.
    const sources = ['foreman', 'worker'].flatMap((dir) =>
      readdirSync(new URL(`../../${dir}`, import.meta.url), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => readFileSync(new URL(`../../${dir}/${f}`, import.meta.url), 'utf8')),
    );
    const literal = [...sources.join('\n').matchAll(/(?:close|reconnect|closeAll|disconnect)\((?:CLOSE_CODES\.\w+|\d{4}), '([^']+)'/g)].map((m) => m[1]);
    expect(literal.length).toBeGreaterThan(3);
    for (const reason of new Set(literal)) expect(reasons, reason).toContain(`\`${reason}\``);
    expect(reasons).toContain('`worker closing`');
  });

  it('keeps the headings other documents link to', () => {
    for (const h of ['## Transport', '## Session sequence', '## Messages', '## Fencing and exactly-once acceptance', '## Liveness', '## Task lifecycle', '## Worker states', '## Protocol error codes', '## Task error codes', '## Close codes']) {
      expect(lines).toContain(h);
    }
  });
});
