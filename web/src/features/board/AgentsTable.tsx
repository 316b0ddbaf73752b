// Every agent: state and the time in it (ticking), reason, queues, calls today, AHT, and the
// supervisor's actions. A forced change shows as asked until the server's push confirms it.
import { Component } from "preact";
import { useState } from "preact/hooks";
import type { AgentRow, Choice, SpyMode } from "../../api/contract";
import { label, t } from "../../locale";
import { duration } from "../../format";
import { now } from "../../stores/clock";
import { link } from "../../stores/connection";
import { agentsSorted, meta, secondsInState } from "../../stores/board";
import { agentKey, forceLogout, forceNotReady, notes, spy } from "../../stores/boardActions";

// The only part of a row that reads the clock: each second redraws these cells, not the list.
function InState({ row }: { row: AgentRow }) {
  const seconds = secondsInState(row, now.value);
  return <>{seconds === null ? t.board.noFigure : duration(seconds)}</>;
}

const SPY_MODES: SpyMode[] = ["listen", "whisper", "barge"];

function reasonsOffered(): Choice[] {
  const fromServer = meta.value?.pauseReasons;
  if (fromServer && fromServer.length) return fromServer;
  return Object.keys(t.reasons).filter((code) => code !== "wrap-up").map((code) => ({ code }));
}

function Actions({ row }: { row: AgentRow }) {
  const reasons = reasonsOffered();
  const [reason, setReason] = useState("");
  const chosen = reason || reasons[0]?.code || "";
  const offline = link.value !== "connected";
  const note = notes.value[agentKey(row.agent_id)];
  const busy = offline || note?.kind === "busy";
  const out = row.state === "logged_out";
  return (
    <div class="agent-actions">
      <select aria-label={t.board.reasonPrompt} data-testid="force-reason" value={chosen} disabled={out}
        onChange={(e) => setReason(e.currentTarget.value)}>
        {reasons.map((r) => <option key={r.code} value={r.code}>{label(t.reasons, r.code, r.label)}</option>)}
      </select>
      <button type="button" class="small" data-testid="force-not-ready" disabled={busy || out || !chosen}
        onClick={() => void forceNotReady(row.agent_id, chosen)}>
        {t.board.forceNotReady}
      </button>
      <button type="button" class="small" data-testid="force-logout" disabled={busy || out}
        onClick={() => void forceLogout(row.agent_id)}>
        {t.board.forceLogout}
      </button>
      <span class="spy">
        {SPY_MODES.map((mode) => (
          <button key={mode} type="button" class="small" data-testid={`spy-${mode}`} title={t.board.spyHints[mode]}
            disabled={busy || (!row.call_id && row.state !== "on_call")} onClick={() => void spy(row.agent_id, mode)}>
            {t.board.spyModes[mode]}
          </button>
        ))}
      </span>
      {note && <span class={`action-note note-${note.kind}`} data-testid="action-note" role="status">{note.text}</span>}
    </div>
  );
}

// A row is drawn again only when its agent's row changed (a push), not when another's did;
// its own signals (the clock cell, the action note) still redraw their parts. Rows are a CSS
// grid, not a <table>: with content-visibility the browser lays out only the rows on screen,
// so the clock ticking in 2,000 rows costs what it costs in the twenty one sees.
class AgentLine extends Component<{ row: AgentRow }> {
  shouldComponentUpdate(next: { row: AgentRow }): boolean {
    return next.row !== this.props.row;
  }

  render({ row }: { row: AgentRow }) {
    return (
      <div role="row" data-testid="agent-row" data-agent={row.login} data-state={row.state} class={`agent-line agent-${row.state}`}>
        <div role="cell">
          <b>{row.full_name}</b> <span class="muted">{row.login}</span>
        </div>
        <div role="cell" data-testid="agent-state">
          <span class={`state-chip chip-${row.state}`}>{t.states[row.state] ?? row.state}</span>
          {row.reason && row.state === "not_ready" && (
            <span class="chip-reason" data-testid="agent-reason"> {label(t.reasons, row.reason)}</span>
          )}
        </div>
        <div role="cell" class="num mono" data-testid="agent-time"><InState row={row} /></div>
        <div role="cell">{row.queues.join(", ")}</div>
        <div role="cell" class="num">{row.calls_today}</div>
        <div role="cell" class="num">{row.aht_today === null ? t.board.noFigure : duration(row.aht_today)}</div>
        <div role="cell"><Actions row={row} /></div>
      </div>
    );
  }
}

export function AgentsTable() {
  const list = agentsSorted.value;
  return (
    <section class="agents" data-testid="agents">
      <h3>{t.board.agents.title}</h3>
      {list.length === 0 ? (
        <p class="muted">{t.board.agents.none}</p>
      ) : (
        <div role="table" class="agent-list" aria-label={t.board.agents.title}>
          <div role="row" class="agent-line agent-head">
            <div role="columnheader">{t.board.agents.name}</div>
            <div role="columnheader">{t.board.agents.state}</div>
            <div role="columnheader" class="num">{t.board.agents.inState}</div>
            <div role="columnheader">{t.board.agents.queues}</div>
            <div role="columnheader" class="num">{t.board.agents.callsToday}</div>
            <div role="columnheader" class="num">{t.board.agents.aht}</div>
            <div role="columnheader">{t.board.agents.actions}</div>
          </div>
          {list.map((row) => <AgentLine key={row.agent_id} row={row} />)}
        </div>
      )}
    </section>
  );
}
