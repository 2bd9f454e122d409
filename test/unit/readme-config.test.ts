import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envName } from '../../cli/option-flags.js';
import { DEFAULTS } from '../../foreman/options.js';
import { WORKER_DEFAULTS } from '../../worker/options.js';
import { CODE_DEFAULTS } from '../../worker/sandbox/code-options.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README configuration tables', () => {
  it('list every foreman and worker option by its GAFFER_* variable', () => {
    const missing = [...Object.keys(DEFAULTS), ...Object.keys(WORKER_DEFAULTS), ...Object.keys(CODE_DEFAULTS)].map(envName).filter((v) => !readme.includes(`\`${v}\``));
    expect(missing).toEqual([]);
  });
});
