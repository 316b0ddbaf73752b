// The preview the server made: how many the selection matched, how many of them would be
// skipped and why (the contact rules, as of now), counts by city, by months overdue and by
// stage of the debt scenario, and a sample of the targets (callable ones first).
import { t, label } from "../../locale";
import { money } from "../../format";
import type { Preview } from "../../api/campaigns";
import { stageCounts } from "../../stores/campaignsActions";

export function skippedTotal(p: Preview): number {
  return Object.values(p.skipped).reduce((a, b) => a + b, 0);
}

export function PreviewView({ result }: { result: Preview }) {
  const L = t.campaigns.preview;
  const skipped = skippedTotal(result);
  const reasons = Object.entries(result.skipped).filter(([, n]) => n > 0);
  const stages = stageCounts.value;
  return (
    <section class="preview" data-testid="preview-result" data-matched={result.matched} data-skipped={skipped}>
      <h3>{L.title}</h3>
      <p class="preview-head">
        <b data-testid="preview-matched">{L.matched(result.matched)}</b>
        {" · "}
        <span data-testid="preview-callable">{L.callable(result.callable_now)}</span>
      </p>
      <p data-testid="preview-skipped" class={skipped ? "skip-line" : "muted"}>
        {skipped ? L.skipped(skipped, result.matched) : L.noneSkipped}
      </p>
      {reasons.length > 0 && (
        <ul class="skip-reasons">
          {reasons.map(([reason, n]) => (
            <li key={reason} data-reason={reason}><b>{n}</b> — {label(t.campaigns.skipReasons, reason)}</li>
          ))}
        </ul>
      )}
      <div class="preview-tables">
        <table class="grid" data-testid="by-city">
          <thead><tr><th>{L.city}</th><th class="num">{L.total}</th><th class="num">{L.callableNow}</th></tr></thead>
          <tbody>
            {result.by_city.map((c) => (
              <tr key={c.city}><td>{c.city}</td><td class="num">{c.total}</td><td class="num">{c.callable}</td></tr>
            ))}
          </tbody>
        </table>
        <table class="grid" data-testid="by-overdue">
          <thead><tr><th>{L.monthsOverdue}</th><th class="num">{L.total}</th></tr></thead>
          <tbody>
            {Object.entries(result.by_overdue).map(([bucket, n]) => (
              <tr key={bucket}><td>{bucket}</td><td class="num">{n}</td></tr>
            ))}
          </tbody>
        </table>
        {stages && (
          <table class="grid" data-testid="by-stage">
            <thead><tr><th>{L.stage}</th><th class="num">{L.total}</th></tr></thead>
            <tbody>
              {Object.entries(stages.stages).map(([stage, n]) => (
                <tr key={stage} data-stage={stage}><td>{L.stageName(stage)}</td><td class="num">{n}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {stages && <p class="hint">{L.stageHint}</p>}
      {result.sample.length > 0 && (
        <>
          <h3>{L.sample(result.sample.length)}</h3>
          <table class="grid sample" data-testid="sample">
            <thead>
              <tr>
                <th>{L.account}</th><th>{L.address}</th><th class="num">{L.debt}</th>
                <th class="num">{L.months}</th><th>{L.skip}</th>
              </tr>
            </thead>
            <tbody>
              {result.sample.map((s) => (
                <tr key={s.account} class={s.skip ? "will-skip" : ""}>
                  <td class="mono">{s.account}</td>
                  <td>{[s.city, s.street, s.house, s.apartment ? L.apartment(s.apartment) : ""].filter(Boolean).join(", ")}</td>
                  <td class="num">{money(s.debt)}</td>
                  <td class="num">{s.months_overdue}</td>
                  <td>{s.skip ? label(t.campaigns.skipReasons, s.skip) : L.willCall}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
