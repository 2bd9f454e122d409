/** The worker dashboard page (placeholder until the dashboard lands). */
export function workerDashboardHtml(): string {
  return '<!doctype html><title>gaffer worker</title><pre id="s">loading…</pre><script>fetch("/").then(r=>r.json()).then(j=>{document.getElementById("s").textContent=JSON.stringify(j,null,2)})</script>';
}
