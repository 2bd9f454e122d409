// What this page's token may do (GET /access): `api`, or `read` (GET routes only).
// Every button that writes carries `data-write`; the stylesheet hides them all until the
// role is known and keeps them hidden for a read-only token, so it never sees a button it cannot use.
import { api } from './live-client.js';

export const role = api('GET', '/access').then((r) => r.role, () => 'read');

void role.then((r) => (document.body.dataset.role = r));
