/**
 * Reads a JSONL task file one line at a time (a 2 GB file is never held whole), yielding each task with its
 * 1-based line number; blank lines are skipped.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { TaskLine } from './foreman-api.js';
import { UsageError } from './fail.js';
import type { AtPathUploader } from './upload-at-paths.js';

/**
 * @param uploader replaces `@path` params naming a file by the uploaded blob's reference (see upload-at-paths.ts).
 * @throws UsageError naming the line when a line is not a JSON object.
 */
export async function* readTaskLines(file: string, uploader?: AtPathUploader): AsyncGenerator<TaskLine> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    const task = parseTaskLine(text, `${file} line ${line}`) as { params?: unknown };
    if (uploader && task.params !== undefined) task.params = await uploader.replace(task.params);
    yield { line, task, bytes: text.length };
  }
}

/** Tasks made in memory (the demo's job), numbered from 1 as if they were the lines of a file. */
export function* numberedTasks(tasks: Iterable<Record<string, unknown>>): Generator<TaskLine> {
  let line = 0;
  for (const task of tasks) yield { line: ++line, task, bytes: JSON.stringify(task).length };
}

function parseTaskLine(text: string, where: string): unknown {
  let task: unknown;
  try {
    task = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (task === null || typeof task !== 'object' || Array.isArray(task)) throw new UsageError(`${where} must be a JSON object like {"type": "…", "params": …}`);
  return task;
}
