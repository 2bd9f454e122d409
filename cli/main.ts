/** The `gaffer` command line: foreman, worker, submit, results, cancel, status, demo, token. */
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
