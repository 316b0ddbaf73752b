// Click-to-call: the server rings the agent's phone first, then dials the consumer.
import { useState } from "preact/hooks";
import { t } from "../../locale";
import { phone as showPhone } from "../../format";
import { api } from "../../api/http";
import { authed, messageOf } from "../../stores/requests";

export function CallButton({ phone, account }: { phone: string; account?: string }) {
  const [state, setState] = useState<{ kind: "idle" | "busy" | "done" | "failed"; text?: string }>({ kind: "idle" });

  async function dial() {
    setState({ kind: "busy", text: t.call.dialling(showPhone(phone)) });
    try {
      await authed((tok) => api.callOut(tok, phone, account));
      setState({ kind: "done", text: t.call.started });
    } catch (exc) {
      setState({ kind: "failed", text: t.call.failed(messageOf(exc)) });
    }
  }

  return (
    <span class="call-button">
      <button type="button" class="small" disabled={state.kind === "busy"} onClick={() => void dial()}
        title={t.card.callBack}>
        ☎ {t.card.callBack}
      </button>
      {state.text && <span class={state.kind === "failed" ? "error" : "muted"}>{state.text}</span>}
    </span>
  );
}
