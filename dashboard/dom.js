// Small DOM helpers for both dashboards. Everything updates in place, so a
// 500 ms tick never rebuilds rows (or buttons under the mouse) that did not change.

/** Creates an element: `el('td', { class: 'num' }, 'text', child)`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/** Sets text only when it changed (no layout work, no lost text selection). */
export function setText(node, text) {
  const s = String(text);
  if (node && node.textContent !== s) node.textContent = s;
}

/** Sets the text of every `[data-field=name]` under `root`. */
export function setField(root, name, text) {
  for (const node of root.querySelectorAll(`[data-field="${name}"]`)) setText(node, text);
}

/** Sets a `.pill`'s state class and text. */
export function setPill(node, state) {
  if (node.dataset.state === state) return;
  node.dataset.state = state;
  node.className = `pill ${state}`;
  node.textContent = state;
}

/** Sets a progress bar's fill (0..1). */
export function setBar(bar, fraction) {
  const w = `${Math.round(Math.max(0, Math.min(1, fraction)) * 1000) / 10}%`;
  const fill = bar.firstElementChild;
  if (fill.style.width !== w) fill.style.width = w;
}

export function progressBar(cls = '') {
  return el('div', { class: 'bar' }, el('span', { class: cls }));
}

/**
 * Keyed update of a container's children: rows are created once per key,
 * updated in place, reordered, and removed when their key disappears.
 */
export function syncList(container, items, keyOf, create, update) {
  const rows = (container._rows ??= new Map());
  const keep = new Set();
  let prev = null;
  for (const item of items) {
    const key = keyOf(item);
    keep.add(key);
    let row = rows.get(key);
    if (!row) rows.set(key, (row = create(item)));
    update(row, item);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (want !== row) container.insertBefore(row, want);
    prev = row;
  }
  for (const [key, row] of rows) {
    if (!keep.has(key)) {
      row.remove();
      rows.delete(key);
    }
  }
}

/** Shows a short message in the corner for a few seconds. */
export function toast(message, isError = false) {
  let box = document.getElementById('toasts');
  if (!box) document.body.append((box = el('div', { id: 'toasts' })));
  const t = el('div', { class: isError ? 'toast error' : 'toast', role: 'status' }, message);
  box.append(t);
  setTimeout(() => t.remove(), isError ? 8000 : 4000);
}

/** Runs an API command from a button: disables it meanwhile and reports the outcome. */
export async function command(button, label, run) {
  button.disabled = true;
  button.dataset.busy = '1';
  try {
    await run();
    toast(label);
  } catch (err) {
    toast(`${label} failed: ${err.message}`, true);
  } finally {
    delete button.dataset.busy;
    button.disabled = false;
  }
}
