/** The worker dashboard page, served by the worker's status server at `/` to browsers. */
import { dashboardPage } from './assets.js';

/** The page's HTML; its script (`/dashboard/worker.js`) fills it from `GET /ws`. */
export function workerDashboardHtml(): string {
  return dashboardPage('worker.html');
}
