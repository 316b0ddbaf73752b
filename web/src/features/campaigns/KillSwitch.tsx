// The switch that stops every campaign's dialling in the deployment at once (calls on the line
// finish); supervisors engage it with a reason and lift it. The server's own switch (a setting)
// is shown too: only a restart of the server lifts that one.
import { t } from "../../locale";
import { dateTime } from "../../format";
import { busy, killSwitch, setKillSwitch } from "../../stores/campaignsActions";

export function KillSwitchPanel() {
  const k = killSwitch.value;
  if (!k) return null;
  const L = t.campaigns.killSwitch;
  const engaged = k.engaged || k.settings_engaged;
  const engage = () => {
    const reason = window.prompt(L.reasonPrompt);
    if (reason !== null) void setKillSwitch(true, reason.trim() || undefined);
  };
  return (
    <section class={`kill-switch${engaged ? " engaged" : ""}`} data-testid="kill-switch" data-engaged={String(engaged)}>
      <b>{engaged ? L.engaged : L.released}</b>
      {k.engaged && (
        <span class="label">{[k.reason, dateTime(k.changed_at)].filter(Boolean).join(" · ")}</span>
      )}
      {k.settings_engaged && <span class="label">{L.bySettings}</span>}
      {k.engaged ? (
        <button type="button" data-testid="kill-switch-release" disabled={busy.value !== null}
          onClick={() => void setKillSwitch(false)}>{L.release}</button>
      ) : (
        <button type="button" class="danger" data-testid="kill-switch-engage" disabled={busy.value !== null}
          onClick={engage}>{L.engage}</button>
      )}
    </section>
  );
}
