/** Every command's --help describes every option in words, and --foreman means one thing everywhere. */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.js';
import { toHttpUrl, toWsUrl } from '../../shared/foreman-url.js';
import { resolveWorkerOptions } from '../../worker/options.js';

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

describe('gaffer --help', () => {
  it('gives every command a description and every option a few words (not only its variable and default)', () => {
    const bare: string[] = [];
    for (const cmd of allCommands(buildProgram())) {
      if (cmd.description().trim() === '') bare.push(cmd.name());
      for (const opt of cmd.options) {
        const words = opt.description.replace(/\([^)]*\)/g, '').trim();
        if (words.split(/\s+/).length < 2) bare.push(`${cmd.name()} ${opt.flags}`);
      }
    }
    expect(bare).toEqual([]);
  });

  it('reads the foreman address from GAFFER_FOREMAN in every command that takes --foreman', () => {
    const withForeman = allCommands(buildProgram()).filter((c) => c.options.some((o) => o.long === '--foreman'));
    expect(withForeman.map((c) => c.name()).sort()).toEqual(expect.arrayContaining(['status', 'submit', 'worker']));
    for (const cmd of withForeman) {
      const opt = cmd.options.find((o) => o.long === '--foreman');
      // The worker's option comes from options.ts (GAFFER_FOREMAN by the one mapping); the others declare it.
      if (opt?.envVar !== undefined) expect(opt.envVar, cmd.name()).toBe('GAFFER_FOREMAN');
      else expect(opt?.description, cmd.name()).toContain('GAFFER_FOREMAN;');
    }
  });
});

describe('foreman addresses', () => {
  it('derive the WebSocket address from the HTTP one and back', () => {
    expect(toWsUrl('http://h:9000')).toBe('ws://h:9000');
    expect(toWsUrl('https://h:9000')).toBe('wss://h:9000');
    expect(toWsUrl('wss://h:9000/ws/worker')).toBe('wss://h:9000/ws/worker');
    expect(toHttpUrl('ws://h:9000/ws/worker')).toBe('http://h:9000');
    expect(toHttpUrl('wss://h:9000')).toBe('https://h:9000');
    expect(toHttpUrl('https://h:9000')).toBe('https://h:9000');
  });

  it('a worker accepts the http:// address the API uses', () => {
    expect(resolveWorkerOptions({ foreman: 'http://10.0.0.5:9000' }).foreman).toBe('ws://10.0.0.5:9000/ws/worker');
    expect(resolveWorkerOptions({ foreman: 'https://gaffer.example' }).foreman).toBe('wss://gaffer.example/ws/worker');
    expect(() => resolveWorkerOptions({ foreman: 'ftp://x' })).toThrow(/option foreman must be a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL/);
  });
});
