// One campaign: its status, the controls its state allows (start / pause / resume / stop,
// clone, the debt scenario's next stage, the stored preview), the live figures (dialled,
// answered, confirmed, operator requests, failed, remaining, estimated finish), the chart, the
// outcomes table and the results CSV.
import { t, label } from "../../locale";
import { dateTime } from "../../format";
import { now } from "../../stores/clock";
import { OUTCOMES, type Progress } from "../../api/campaigns";
import { isFinal, stateDate, type CampaignView } from "../../stores/campaigns";
import {
  busy, clone, control, downloadResults, nextStage, preview, previewOf, previewStored, start,
} from "../../stores/campaignsActions";
import { ProgressChart } from "./ProgressChart";
import { PreviewView } from "./PreviewView";

function Figure({ name, value, text }: { name: string; value: string | number; text: string }) {
  return (
    <div class="figure" data-figure={name}>
      <span class="label">{text}</span>
      <b>{value}</b>
    </div>
  );
}

function Figures({ p }: { p: Progress }) {
  const L = t.campaigns.progress;
  return (
    <div class="figures" data-testid="figures">
      <Figure name="total" value={p.total} text={L.total} />
      <Figure name="dialled" value={p.dialled} text={L.dialled} />
      <Figure name="answered" value={p.answered} text={L.answered} />
      <Figure name="confirmed" value={p.confirmed} text={L.confirmed} />
      <Figure name="operator" value={p.operator} text={L.operator} />
      <Figure name="failed" value={p.failed} text={L.failed} />
      <Figure name="remaining" value={p.remaining} text={L.remaining} />
      <Figure name="eta" value={p.estimated_finish ? dateTime(p.estimated_finish) : "—"} text={L.eta} />
    </div>
  );
}

function Outcomes({ p }: { p: Progress }) {
  const L = t.campaigns.progress;
  const finished = OUTCOMES.reduce((sum, o) => sum + (p.by_outcome[o] ?? 0), 0);
  const skipped = Object.entries(p.skipped).filter(([, n]) => n > 0);
  const share = (n: number) => (finished ? `${Math.round((n / finished) * 1000) / 10}`.replace(".", ",") + "\u00a0%" : "");
  return (
    <div class="outcome-tables">
      <table class="grid" data-testid="outcomes">
        <thead><tr><th>{L.outcome}</th><th class="num">{L.count}</th><th class="num">{L.share}</th></tr></thead>
        <tbody>
          {OUTCOMES.map((o) => (
            <tr key={o} data-outcome={o}>
              <td>{label(t.campaigns.outcomes, o)}</td>
              <td class="num">{p.by_outcome[o] ?? 0}</td>
              <td class="num">{share(p.by_outcome[o] ?? 0)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot><tr><th>{L.finishedTotal}</th><th class="num">{finished}</th><th /></tr></tfoot>
      </table>
      <table class="grid" data-testid="by-state">
        <thead><tr><th>{L.attemptState}</th><th class="num">{L.count}</th></tr></thead>
        <tbody>
          {Object.entries(p.by_state).map(([s, n]) => (
            <tr key={s}><td>{label(t.campaigns.attemptStates, s)}</td><td class="num">{n}</td></tr>
          ))}
          {skipped.map(([reason, n]) => (
            <tr key={reason} class="skip-row"><td>{L.skippedBecause(label(t.campaigns.skipReasons, reason))}</td><td class="num">{n}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Controls({ v }: { v: CampaignView }) {
  const L = t.campaigns.actions;
  const out = busy.value !== null || v.pending !== null;
  const s = v.state;
  return (
    <div class="controls" data-testid="controls">
      {s === "created" && (
        <>
          <button type="button" data-testid="preview-stored" disabled={out} onClick={() => void previewStored(v.id)}>{L.preview}</button>
          <button type="button" class="primary" data-testid="start" disabled={out} onClick={() => void start(v.id)}>
            {v.pending === "start" ? L.starting : L.start}
          </button>
        </>
      )}
      {s === "running" && (
        <button type="button" class="warn" data-testid="pause" disabled={out} onClick={() => void control(v.id, "pause")}>{L.pause}</button>
      )}
      {s === "paused" && (
        <button type="button" class="primary" data-testid="resume" disabled={out} onClick={() => void control(v.id, "resume")}>{L.resume}</button>
      )}
      {!isFinal(s) && (
        <button type="button" class="danger" data-testid="stop" disabled={out}
          onClick={() => { if (window.confirm(L.stopConfirm(v.name))) void control(v.id, "stop"); }}>{L.stop}</button>
      )}
      <button type="button" data-testid="clone" disabled={out} onClick={() => void clone(v.id)}>{L.clone}</button>
      {v.spec?.scenario === "debt" && v.startedAt && (
        <button type="button" data-testid="next-stage" disabled={out} onClick={() => void nextStage(v.id)}>{L.nextStage}</button>
      )}
      {s !== "created" && (
        <button type="button" class="link" data-testid="results-csv" disabled={busy.value === "csv"}
          onClick={() => void downloadResults(v.id)}>{L.csv}</button>
      )}
      {v.pending && <span class="pending-note">{L.pending}</span>}
    </div>
  );
}

export function CampaignDetail({ view: v }: { view: CampaignView }) {
  const L = t.campaigns.detail;
  const p = v.progress;
  return (
    <section class="campaign-detail" data-testid="campaign-detail" data-id={v.id} data-state={v.state}>
      <header class="detail-head">
        <h2>{v.name}</h2>
        <span class="label">{label(t.campaigns.types, v.type)} · №{v.id}
          {v.spec?.stage ? ` · ${L.stage(v.spec.stage)}` : ""}
          {v.clonedFrom ? ` · ${L.clonedFrom(v.clonedFrom)}` : ""}</span>
        <span class={`status-chip big st-${v.state}`} data-testid="campaign-state">{label(t.campaigns.states, v.state)}</span>
        <span class="muted">{dateTime(stateDate(v))}</span>
        {v.stateReason && <span class="muted" data-testid="state-reason">{label(t.campaigns.stateReasons, v.stateReason)}</span>}
      </header>
      <Controls v={v} />
      {v.state === "created" && preview.value && previewOf.value === v.id && <PreviewView result={preview.value} />}
      {p && v.state !== "created" && (
        <>
          <Figures p={p} />
          <ProgressChart samples={v.history} now={isFinal(v.state) ? undefined : now.value} />
          <Outcomes p={p} />
        </>
      )}
      {v.spec && (
        <dl class="spec">
          <dt>{L.created}</dt><dd>{dateTime(v.createdAt)}</dd>
          {v.startedAt && (<><dt>{L.started}</dt><dd>{dateTime(v.startedAt)}</dd></>)}
          {v.finishedAt && (<><dt>{L.finished}</dt><dd>{dateTime(v.finishedAt)}</dd></>)}
          <dt>{L.pacing}</dt><dd>{L.pacingText(label(t.campaigns.form.modes, v.spec.pacing.mode), v.spec.pacing.max_channels, v.spec.pacing.calls_per_second)}</dd>
          <dt>{L.keys}</dt><dd>{L.keysText(v.spec.options.confirm_key, v.spec.options.operator_key, v.spec.options.opt_out_key)}</dd>
        </dl>
      )}
    </section>
  );
}
