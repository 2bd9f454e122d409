import { describe, expect, it } from 'vitest';
import { LineSplitter, piecesOf } from '../../foreman/http/ndjson-task-list.js';
import { SliceSizer, TURN_BUDGET_MS, TurnBudget } from '../../foreman/turn-budget.js';

describe('SliceSizer', () => {
  it('starts small, at most doubles while writes are cheap, and shrinks a slice to what fits in the budget', () => {
    const sizer = new SliceSizer(500);
    expect(sizer.size).toBe(50);
    sizer.wrote(50, 0.1);
    expect(sizer.size).toBe(100);
    sizer.wrote(100, 0.2);
    sizer.wrote(200, 0.4);
    expect(sizer.size).toBe(400);
    sizer.wrote(400, 0.8);
    // Never past the ceiling, however cheap.
    expect(sizer.size).toBe(500);
    // 500 tasks took 4 ms: half of them fit in the budget.
    sizer.wrote(500, 2 * TURN_BUDGET_MS);
    expect(sizer.size).toBe(250);
    // A very slow write does not shrink it below the floor.
    sizer.wrote(250, 1000);
    expect(sizer.size).toBe(25);
  });
});

describe('TurnBudget', () => {
  it('yields to the event loop once a turn has used its budget', async () => {
    const budget = new TurnBudget();
    let other = false;
    setImmediate(() => (other = true));
    // Work past the budget (without yielding): the next pace lets the waiting callback run first.
    const until = performance.now() + TURN_BUDGET_MS + 1;
    while (performance.now() < until);
    expect(other).toBe(false);
    await budget.pace();
    expect(other).toBe(true);
  });
});

describe('piecesOf with LineSplitter', () => {
  // Lines whose multi-byte characters (2, 3 and 4 bytes in UTF-8; a surrogate pair in UTF-16) fall on every
  // offset against the 4 KiB pieces, so that some are cut between two pieces.
  const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ type: 'é€😀'.repeat(i % 7), params: { i, pad: 'x'.repeat(i % 13) } }));
  const body = lines.join('\n');

  const parse = (chunks: Array<Buffer | string>) => {
    const items: unknown[] = [];
    const splitter = new LineSplitter(1 << 20, undefined, (item) => void items.push(item));
    for (const chunk of chunks) for (const piece of piecesOf(chunk)) splitter.write(piece);
    splitter.end();
    return items;
  };

  it('cuts buffers and strings into pieces that parse to the same lines', () => {
    const buffer = Buffer.from(body);
    expect([...piecesOf(buffer)].length).toBe(Math.ceil(buffer.length / 4096));
    const expected = lines.map((l) => JSON.parse(l));
    expect(parse([buffer])).toEqual(expected);
    expect(parse([body])).toEqual(expected);
    // Chunks of odd sizes, as a socket delivers them, cut again into pieces.
    const chunks: Buffer[] = [];
    for (let at = 0; at < buffer.length; at += 5003) chunks.push(buffer.subarray(at, at + 5003));
    expect(parse(chunks)).toEqual(expected);
  });
});
