// The one big state control: what the PBX says the agent is, for how long, and the three
// requests (ready / not ready with a reason / out of the queues). A request shows as pending
// until the server's projection of the PBX confirms it, or as failed with the PBX's reason.
import { useState } from "preact/hooks";
import { label, t } from "../../locale";
import { duration } from "../../format";
import { now, secondsSince } from "../../stores/clock";
import { link } from "../../stores/connection";
import { pauseReasons, refusal, setReadiness, view } from "../../stores/readiness";

export function StateControl() {
  const v = view.value;
  const reasons = pauseReasons.value;
  const [reason, setReason] = useState<string>("");
  const offline = link.value !== "connected";

  if (!v) return <section class="state-control state-unknown" data-testid="state">…</section>;

  const chosen = reason || reasons[0]?.code || "";
  const stateName = t.states[v.state] ?? v.state;
  const reasonName = v.reason ? label(t.reasons, v.reason) : null;
  const busy = offline || v.pending !== null;

  return (
    <section class={`state-control state-${v.state}`} data-testid="state" data-state={v.state}>
      <div class="state-big">
        <span class="state-name" data-testid="state-name">{stateName}</span>
        {reasonName && v.state === "not_ready" && <span class="state-reason">{reasonName}</span>}
        <span class="state-time" data-testid="state-time">{t.readiness.inState(duration(secondsSince(v.since, now.value)))}</span>
      </div>
      {v.pending && (
        <p class="pending" data-testid="pending">
          {t.readiness.pending(
            (t.states[v.pending.state] ?? v.pending.state) + (v.pending.reason ? ` (${label(t.reasons, v.pending.reason)})` : ""),
          )}
        </p>
      )}
      {v.failed && (
        <p class="failed" role="alert" data-testid="failed">
          {t.readiness.failed(t.states[v.failed.state] ?? v.failed.state, v.failed.message || v.failed.error)}
        </p>
      )}
      {refusal.value && refusal.value !== "offline" && <p class="failed" role="alert">{t.readiness.refused(refusal.value)}</p>}
      <div class="state-actions">
        <button type="button" class="big ready" data-testid="go-ready" disabled={busy || v.state === "ready"}
          onClick={() => void setReadiness("ready")}>
          {t.readiness.goReady}
        </button>
        <div class="not-ready-group">
          <select aria-label={t.readiness.reasonPrompt} data-testid="reason" value={chosen}
            onChange={(e) => setReason(e.currentTarget.value)}>
            {reasons.map((r) => (
              <option key={r.code} value={r.code}>{label(t.reasons, r.code, r.label)}</option>
            ))}
          </select>
          <button type="button" class="big not-ready" data-testid="go-not-ready" disabled={busy || !chosen}
            onClick={() => void setReadiness("not_ready", chosen)}>
            {t.readiness.goNotReady}
          </button>
        </div>
        <button type="button" class="logout" data-testid="go-logged-out" disabled={busy || v.state === "logged_out"}
          onClick={() => void setReadiness("logged_out")}>
          {t.readiness.logout}
        </button>
      </div>
      <p class="queues">{v.queues.length ? t.readiness.queues(v.queues.join(", ")) : t.readiness.noQueues}</p>
    </section>
  );
}
