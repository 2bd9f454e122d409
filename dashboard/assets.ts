/**
 * The dashboards' static files (HTML, JS modules, CSS) as they sit in this
 * folder: no build step, so a fresh clone serves them as is. Both the foreman
 * and the worker status server mount them under `/dashboard/`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** One file as served: its bytes and content type. */
export interface DashboardAsset {
  body: Buffer;
  type: string;
}

/**
 * The folder holding the pages: this file's own in a checkout; in the built package this file is compiled into
 * dist/dashboard/ while the pages ship in dashboard/ at the package root.
 */
const DIR = [new URL('.', import.meta.url), new URL('../../dashboard/', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(join(dir, 'foreman.html'))) ?? fileURLToPath(new URL('.', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

let cache: Map<string, DashboardAsset> | null = null;

/** Subfolders served too (one level): the drill-down views of the foreman page. */
const SUBFOLDERS = ['views'];

/** Every servable file in the dashboard folder, by path (`foreman.js`, `views/task.js`); read once, on first use. */
export function dashboardAssets(): Map<string, DashboardAsset> {
  if (cache) return cache;
  cache = new Map();
  for (const folder of ['', ...SUBFOLDERS]) {
    const dir = join(DIR, folder);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const type = CONTENT_TYPES[extname(name)];
      if (type) cache.set(folder ? `${folder}/${name}` : name, { body: readFileSync(join(dir, name)), type });
    }
  }
  return cache;
}

/** The page `name` (e.g. `foreman.html`) as a string. @throws Error when it does not exist. */
export function dashboardPage(name: string): string {
  const asset = dashboardAssets().get(name);
  if (!asset) throw new Error(`dashboard page ${name} is missing`);
  return asset.body.toString('utf8');
}

/** Whether a request's Accept header prefers a page to JSON (browsers list text/html first). */
export function wantsHtml(accept: string | undefined): boolean {
  return (accept ?? '').includes('text/html');
}

/**
 * Serves `GET /dashboard/:file`. Lookups are by exact file name in a fixed map,
 * so a path like `../x` can never reach the disk.
 */
export function serveDashboardAssets(app: FastifyInstance): void {
  const serve = (file: string, reply: FastifyReply) => {
    const asset = dashboardAssets().get(file);
    if (!asset) return reply.code(404).send({ statusCode: 404, code: 'NOT_FOUND', message: `no dashboard file ${file}` });
    // no-cache (revalidate) rather than max-age: an upgraded server must not run last version's scripts.
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  };
  app.get<{ Params: { file: string } }>('/dashboard/:file', { schema: { hide: true } }, async (req, reply) => serve(req.params.file, reply));
  for (const folder of SUBFOLDERS) {
    app.get<{ Params: { file: string } }>(`/dashboard/${folder}/:file`, { schema: { hide: true } }, async (req, reply) => serve(`${folder}/${req.params.file}`, reply));
  }
}
