// The wrap-up countdown, with "end now" and "extend once" (the server enforces the limit).
import { t } from "../../locale";
import { duration } from "../../format";
import { now } from "../../stores/clock";
import { link } from "../../stores/connection";
import { endWrapup, EXTEND_SECONDS, extendWrapup, view } from "../../stores/readiness";

export function WrapUp() {
  const v = view.value;
  if (!v || v.state !== "wrap_up" || !v.wrapup_until) return null;
  const left = (Date.parse(v.wrapup_until) - now.value) / 1000;
  const offline = link.value !== "connected";
  return (
    <section class="wrapup" data-testid="wrapup">
      <div class="wrapup-left">{t.wrapup.left(duration(left))}</div>
      <div class="wrapup-actions">
        <button type="button" class="primary" disabled={offline} onClick={() => void endWrapup()}>{t.wrapup.end}</button>
        <button type="button" disabled={offline || v.wrapup_extended} onClick={() => void extendWrapup()}>
          {v.wrapup_extended ? t.wrapup.extended : t.wrapup.extend(EXTEND_SECONDS)}
        </button>
      </div>
    </section>
  );
}
