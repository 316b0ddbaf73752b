// The call's course: rang, answered, ended, wrap-up until (times `17:23:05`).
import { t } from "../../locale";
import { time } from "../../format";
import type { Pop } from "../../api/contract";
import { wrapups } from "../../stores/readiness";

export function Timeline({ pop }: { pop: Pop }) {
  const wrapup = wrapups.value[pop.call_id];
  const steps: [string, string | null, string][] = [
    [t.timeline.ringing, pop.ringing_at, "ringing"],
    [t.timeline.answered, pop.answered_at, "answered"],
    [t.timeline.ended, pop.ended_at, "ended"],
    [t.timeline.wrapup, wrapup?.since ?? null, "wrapup"],
    [t.timeline.wrapupUntil, wrapup?.until ?? null, "wrapup-until"],
  ];
  return (
    <section class="timeline" data-testid="timeline">
      <h3>{t.timeline.title}</h3>
      <ol>
        {steps
          .filter(([, at]) => at)
          .map(([name, at, key]) => (
            <li key={key} data-step={key}>
              <span class="at">{time(at, true)}</span> {name}
            </li>
          ))}
      </ol>
    </section>
  );
}
