// The agent's own open callback commitments, the soonest due first: time left ticking, the
// overdue ones marked the second they pass their due time. «Позвонить» dials through the server
// (the agent's phone rings first); «Итог» closes the commitment with an outcome and a comment.
import { useEffect, useState } from "preact/hooks";
import { label, t } from "../../locale";
import { duration, phone } from "../../format";
import { now } from "../../stores/clock";
import { byDue, close, dial, loadError, mine, notes, startPolling, type DueCallback } from "../../stores/callbacks";
import { when } from "./when";
import "./callbacks.css";

export function CallbacksPanel() {
  useEffect(() => startPolling(), []);
  const at = now.value;
  const list = byDue(mine.value, at);
  return (
    <section class="my-callbacks" data-testid="my-callbacks">
      <h3>
        {t.deskCallbacks.title} <span class="count">{list.length}</span>
      </h3>
      {loadError.value && <p class="error" role="alert">{loadError.value}</p>}
      {list.length === 0 ? (
        <p class="muted">{t.deskCallbacks.none}</p>
      ) : (
        <ol class="callback-list">
          {list.map((c) => <CallbackRow key={c.id} item={c} at={at} />)}
        </ol>
      )}
    </section>
  );
}

function CallbackRow({ item, at }: { item: DueCallback; at: number }) {
  const [closing, setClosing] = useState(false);
  const rowNote = notes.value[item.id];
  const busy = rowNote?.kind === "busy";
  return (
    <li class={item.overdueNow ? "callback overdue" : "callback"} data-testid="my-callback" data-callback={item.id}
      data-overdue={String(item.overdueNow)}>
      <div class="callback-due">
        <span class="mono due-at">{when(item.due_at, at)}</span>
        <span class="mono" data-testid="callback-left">
          {item.overdueNow
            ? t.deskCallbacks.overdueBy(duration(-item.secondsLeft))
            : t.deskCallbacks.left(duration(item.secondsLeft))}
        </span>
      </div>
      <div class="callback-who">
        <span class="mono">{phone(item.phone)}</span>
        {item.account && <span class="muted"> · {t.deskCallbacks.account} {item.account}</span>}
      </div>
      {item.note && <p class="callback-note">{item.note}</p>}
      <div class="callback-actions">
        <button type="button" class="small" data-testid="callback-dial" disabled={busy} onClick={() => void dial(item.id)}>
          ☎ {t.deskCallbacks.dial}
        </button>
        <button type="button" class="small" data-testid="callback-outcome" disabled={busy}
          onClick={() => setClosing(!closing)}>
          {t.deskCallbacks.outcome}
        </button>
      </div>
      {closing && <OutcomeForm id={item.id} busy={busy} onCancel={() => setClosing(false)} />}
      {rowNote && (
        <p class={rowNote.kind === "failed" ? "error" : "muted"} data-testid="callback-row-note">{rowNote.text}</p>
      )}
    </li>
  );
}

function OutcomeForm({ id, busy, onCancel }: { id: number; busy: boolean; onCancel: () => void }) {
  const [outcome, setOutcome] = useState("");
  const [comment, setComment] = useState("");
  const codes = Object.keys(t.deskCallbacks.outcomes);

  async function save(event: Event) {
    event.preventDefault();
    if (!outcome) return;
    const text = comment.trim();
    await close(id, { outcome, ...(text ? { comment: text } : {}) });
  }

  return (
    <form class="callback-outcome" onSubmit={save} data-testid="callback-outcome-form">
      <select name="outcome" value={outcome} aria-label={t.deskCallbacks.outcomeTitle}
        onChange={(e) => setOutcome(e.currentTarget.value)}>
        <option value="">{t.deskCallbacks.choose}</option>
        {codes.map((code) => (
          <option key={code} value={code}>{label(t.deskCallbacks.outcomes, code)}</option>
        ))}
      </select>
      <textarea name="comment" rows={2} maxLength={2000} placeholder={t.deskCallbacks.comment} value={comment}
        onInput={(e) => setComment(e.currentTarget.value)} />
      <div class="callback-actions">
        <button type="submit" class="primary small" disabled={busy || !outcome}>{t.deskCallbacks.close}</button>
        <button type="button" class="link" onClick={onCancel}>{t.deskCallbacks.cancel}</button>
      </div>
    </form>
  );
}
