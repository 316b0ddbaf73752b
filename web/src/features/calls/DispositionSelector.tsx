// The call's outcome, to be set before the wrap-up ends.
import { useState } from "preact/hooks";
import { label, t } from "../../locale";
import type { Pop } from "../../api/contract";
import { api } from "../../api/http";
import { dispositions } from "../../stores/pops";
import { authed, messageOf } from "../../stores/requests";

export function DispositionSelector({ pop }: { pop: Pop }) {
  const [chosen, setChosen] = useState(pop.disposition ?? "");
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const list = dispositions.value;
  if (list.length === 0) return null;

  async function save(event: Event) {
    event.preventDefault();
    if (!chosen) return;
    try {
      await authed((tok) => api.setDisposition(tok, pop.call_id, chosen));
      setNote({ ok: true, text: t.disposition.saved });
    } catch (exc) {
      setNote({ ok: false, text: t.errors.generic(messageOf(exc)) });
    }
  }

  return (
    <form class="disposition" onSubmit={save} data-testid="disposition">
      <h3>{t.disposition.title}</h3>
      <select value={chosen} onChange={(e) => setChosen(e.currentTarget.value)} aria-label={t.disposition.title}>
        <option value="">{t.disposition.choose}</option>
        {list.map((d) => (
          <option key={d.code} value={d.code}>{label(t.disposition.labels, d.code, d.label)}</option>
        ))}
      </select>
      <button type="submit" disabled={!chosen}>{t.disposition.save}</button>
      {note && <p class={note.ok ? "ok" : "error"}>{note.text}</p>}
    </form>
  );
}
