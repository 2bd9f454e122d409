// The "Browser workers" panel: the /join link to share with volunteers (it
// carries the join token in its fragment) and a QR code of it, for phones.
// Read once from GET /join/link; a token that may not read it hides the panel.
import { api } from './live-client.js';

const panel = document.getElementById('join');

export async function showJoinLink() {
  try {
    const link = await api('GET', '/join/link');
    panel.querySelector('[data-field=join-url]').textContent = link.url;
    panel.querySelector('[data-field=join-url]').href = link.url;
    panel.querySelector('.qr').innerHTML = link.qrSvg;
    panel.hidden = false;
  } catch {
    panel.hidden = true;
  }
}
