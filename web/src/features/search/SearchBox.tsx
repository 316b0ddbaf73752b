// Search by account number, phone or address text (the server decides which it is).
import { useState } from "preact/hooks";
import { t } from "../../locale";
import type { CardSummary } from "../../api/contract";
import { api } from "../../api/http";
import { authed, messageOf } from "../../stores/requests";
import { SummaryList } from "./SummaryList";

export function SearchBox({ onOpen }: { onOpen: (account: string) => void }) {
  const [q, setQ] = useState("");
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<CardSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const query = q.trim();
    if (!query) return;
    setBusy(true);
    setError(null);
    try {
      const reply = await authed((tok) => api.search(tok, query));
      setResults(reply.results);
    } catch (exc) {
      setError(messageOf(exc));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="search" data-testid="search">
      <form onSubmit={submit} class="search-form">
        <input type="search" name="q" placeholder={t.search.placeholder} aria-label={t.search.title} value={q}
          onInput={(e) => setQ(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>{busy ? t.search.busy : t.search.submit}</button>
      </form>
      {error && <p class="error" role="alert">{t.errors.generic(error)}</p>}
      {results && results.length === 0 && <p class="hint">{t.search.nothing}</p>}
      {results && results.length > 0 && <SummaryList items={results} onOpen={onOpen} />}
    </section>
  );
}
