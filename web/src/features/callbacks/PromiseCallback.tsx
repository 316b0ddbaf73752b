// «Обещать перезвонить» from the pop: the caller's question needs an answer the agent does not
// have now, so the company calls back (the service standard: within 4 hours). The commitment is
// bound to this call and to the account shown in the card; with no time chosen the server sets
// its standard due time.
import { useState } from "preact/hooks";
import { t } from "../../locale";
import type { CallbackIn, Pop } from "../../api/contract";
import { cardOf } from "../../stores/pops";
import { explain, promise } from "../../stores/callbacks";
import { now } from "../../stores/clock";
import { when } from "./when";

// Times the agent may promise instead of the standard one (minutes).
const DUE_CHOICES = [30, 60, 120, 180];

export function PromiseCallback({ pop }: { pop: Pop }) {
  const [open, setOpen] = useState(false);
  const [phone, setPhone] = useState(pop.caller_number ?? "");
  const [note, setNote] = useState("");
  const [due, setDue] = useState("");
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  // Read at each render: the agent may pick the account after opening the form.
  const account = cardOf(pop)?.account.number ?? null;
  if (pop.status === "ringing") return null;

  async function save(event: Event) {
    event.preventDefault();
    if (!phone.trim() || busy) return;
    const body: CallbackIn = { phone: phone.trim(), note: note.trim(), call_id: pop.call_id };
    if (account) body.account = account;
    if (due) body.due_in_minutes = Number(due);
    setBusy(true);
    try {
      const made = await promise(body);
      setSaid({ ok: true, text: t.deskCallbacks.saved(when(made.due_at, now.peek())) });
      setOpen(false);
      setNote("");
      setDue("");
    } catch (exc) {
      setSaid({ ok: false, text: t.deskCallbacks.failed(explain(exc)) });
    } finally {
      setBusy(false);
    }
  }

  const message = said && (
    <p class={said.ok ? "ok" : "error"} data-testid="promise-note" role={said.ok ? undefined : "alert"}>{said.text}</p>
  );

  if (!open) {
    return (
      <div class="promise-callback">
        <button type="button" data-testid="promise-callback" onClick={() => { setOpen(true); setSaid(null); }}>
          {t.deskCallbacks.promise}
        </button>
        {message}
      </div>
    );
  }
  return (
    <form class="promise-callback promise-form" onSubmit={save} data-testid="promise-form">
      <h3>{t.deskCallbacks.formTitle}</h3>
      <label>
        <span class="label">{t.deskCallbacks.phone}</span>
        <input name="phone" value={phone} required maxLength={40} onInput={(e) => setPhone(e.currentTarget.value)} />
      </label>
      <p class="promise-account">
        <span class="label">{t.deskCallbacks.account}</span>
        <span data-testid="promise-account">{account ?? t.deskCallbacks.noAccount}</span>
      </p>
      <label>
        <span class="label">{t.deskCallbacks.note}</span>
        <textarea name="note" rows={3} maxLength={2000} placeholder={t.deskCallbacks.notePlaceholder} value={note}
          onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      <label>
        <span class="label">{t.deskCallbacks.due}</span>
        <select name="due" value={due} onChange={(e) => setDue(e.currentTarget.value)}>
          <option value="">{t.deskCallbacks.dueStandard}</option>
          {DUE_CHOICES.map((m) => (
            <option key={m} value={String(m)}>{t.deskCallbacks.dueIn(m)}</option>
          ))}
        </select>
      </label>
      <div class="promise-actions">
        <button type="submit" class="primary" disabled={busy || !phone.trim()}>
          {busy ? t.deskCallbacks.saving : t.deskCallbacks.save}
        </button>
        <button type="button" class="link" onClick={() => setOpen(false)}>{t.deskCallbacks.cancel}</button>
      </div>
      {message}
    </form>
  );
}
