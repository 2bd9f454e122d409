/** The worker's hot cache and how skill dependencies are written on the command line. */
import { describe, expect, it, vi } from 'vitest';
import { HotCache } from '../../worker/hot-cache.js';
import { parseSkillDependencies, resolveWorkerOptions } from '../../worker/options.js';

describe('the hot cache', () => {
  it('makes a type hot only when all of its dependencies are loaded, and tells of every change', () => {
    const changed = vi.fn();
    const cache = new HotCache({ caption: ['blip', 'tokenizer'], upscale: ['esrgan'], empty: [] }, changed);
    expect(cache.tracked).toBe(true);
    cache.add('blip');
    expect(cache.hotSkills()).toEqual([]);
    cache.add('tokenizer');
    cache.add('tokenizer');
    expect(cache.hotSkills()).toEqual(['caption']);
    cache.remove('blip');
    cache.remove('blip');
    cache.add('esrgan');
    expect(cache.hotSkills()).toEqual(['upscale']);
    expect(cache.list().sort()).toEqual(['esrgan', 'tokenizer']);
    // Repeated adds and removes of the same state are not changes.
    expect(changed).toHaveBeenCalledTimes(4);
    expect(new HotCache({}).tracked).toBe(false);
  });

  it('parses TYPE=DEP,DEP;TYPE=DEP and refuses malformed entries, naming them', () => {
    expect(parseSkillDependencies('caption=blip-large, tok;upscale=esrgan-x4;')).toEqual({ caption: ['blip-large', 'tok'], upscale: ['esrgan-x4'] });
    expect(parseSkillDependencies('b=y', { a: ['x'] })).toEqual({ a: ['x'], b: ['y'] });
    expect(() => parseSkillDependencies('caption')).toThrow(/--skill-dependency expects TYPE=DEP.*caption/);
    expect(() => parseSkillDependencies('caption=,')).toThrow(/caption=,/);
    expect(() => resolveWorkerOptions({ skillDependencies: { caption: [''] } })).toThrow(/skillDependencies.caption/);
  });
});
