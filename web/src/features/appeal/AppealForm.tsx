// A new appeal for the shown account, tied to the call when there is one.
import { useState } from "preact/hooks";
import { t } from "../../locale";
import type { AppealPriority } from "../../api/contract";
import { api } from "../../api/http";
import { authed, messageOf } from "../../stores/requests";

const PRIORITIES: AppealPriority[] = ["urgent", "high", "normal", "low"];

interface Props {
  account: string;
  callId: string | null;
  onSaved: () => void;
}

export function AppealForm({ account, callId, onSaved }: Props) {
  const types = Object.keys(t.appeal.vocabulary);
  const [type, setType] = useState(types[0]);
  const [topic, setTopic] = useState(t.appeal.vocabulary[types[0]][0]);
  const [comment, setComment] = useState("");
  const [priority, setPriority] = useState<AppealPriority>("normal");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);

  function chooseType(next: string) {
    setType(next);
    setTopic(t.appeal.vocabulary[next][0]);
  }

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setNote(null);
    try {
      const appeal = await authed((tok) =>
        api.registerAppeal(tok, {
          account,
          ...(callId ? { call_id: callId } : {}),
          type,
          topic,
          comment: comment.trim(),
          priority,
        }),
      );
      setNote({ ok: true, text: t.appeal.saved(String(appeal.id)) });
      setComment("");
      onSaved();
    } catch (exc) {
      setNote({ ok: false, text: t.errors.generic(messageOf(exc)) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="appeal-form" onSubmit={submit} data-testid="appeal-form">
      <h3>{t.appeal.title}</h3>
      <div class="row">
        <label>
          {t.appeal.type}
          <select name="type" value={type} onChange={(e) => chooseType(e.currentTarget.value)}>
            {types.map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        <label>
          {t.appeal.topic}
          <select name="topic" value={topic} onChange={(e) => setTopic(e.currentTarget.value)}>
            {t.appeal.vocabulary[type].map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        <label>
          {t.appeal.priority}
          <select name="priority" value={priority} onChange={(e) => setPriority(e.currentTarget.value as AppealPriority)}>
            {PRIORITIES.map((p) => <option key={p} value={p}>{t.appeal.priorities[p]}</option>)}
          </select>
        </label>
      </div>
      <label class="wide">
        {t.appeal.comment}
        <textarea name="comment" rows={3} maxLength={4000} value={comment}
          onInput={(e) => setComment(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary" disabled={busy}>{busy ? t.appeal.busy : t.appeal.submit}</button>
      {note && <p class={note.ok ? "ok" : "error"} role="status" data-testid="appeal-note">{note.text}</p>}
    </form>
  );
}
