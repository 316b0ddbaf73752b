// The outcome of the last request: what was done, or why the server refused (its error ids the
// supervisor can act on in the page's words, others in the server's).
import { t, label } from "../../locale";
import { notice } from "../../stores/campaignsActions";

export function NoticeLine() {
  const n = notice.value;
  if (!n) return null;
  if (n.kind === "ok") {
    const said = t.campaigns.done[n.code];
    return <p class="ok notice-line" role="status" data-testid="notice">{said ? said(n.detail ?? "") : n.code}</p>;
  }
  const text = label(t.campaigns.refusals, n.code, n.detail ?? null);
  return <p class="error notice-line" role="alert" data-testid="notice">{t.campaigns.refused(text)}</p>;
}
