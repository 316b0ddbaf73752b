// One queue: callers waiting, the longest wait (advancing with the clock), service level
// against its target, the agents by state, and today's and the last hour's figures, with the
// formulas written under them so everyone reads the numbers the same way.
import type { Figures, QueueTile } from "../../api/contract";
import { label, t } from "../../locale";
import { duration, percent, plainNumber } from "../../format";
import { now } from "../../stores/clock";
import { longestWait, meta } from "../../stores/board";
import { slColour, waitColour, waitingColour } from "../../stores/boardColours";
import { LastHourChart } from "./LastHourChart";

const seconds = (value: number | null) => (value === null || value === undefined ? t.board.noFigure : duration(value));
const share = (value: number | null) => (value === null || value === undefined ? t.board.noFigure : percent(value));

function FiguresTable({ tile, short }: { tile: QueueTile; short: string }) {
  const rows: [string, string, (f: Figures) => string][] = [
    ["offered", t.board.figures.offered, (f) => String(f.offered)],
    ["answered", t.board.figures.answered, (f) => String(f.answered)],
    ["abandoned", t.board.figures.abandoned, (f) => String(f.abandoned)],
    ["short_abandoned", t.board.figures.shortAbandoned(short), (f) => String(f.short_abandoned)],
    ["service_level", t.board.figures.serviceLevel, (f) => share(f.service_level)],
    ["asa", t.board.figures.asa, (f) => seconds(f.asa)],
    ["aht", t.board.figures.aht, (f) => seconds(f.aht)],
    ["abandon_rate", t.board.figures.abandonRate, (f) => share(f.abandon_rate)],
  ];
  return (
    <table class="grid figures">
      <thead>
        <tr><th /><th class="num">{t.board.today}</th><th class="num">{t.board.lastHour}</th></tr>
      </thead>
      <tbody>
        {rows.map(([key, name, show]) => (
          <tr key={key} data-figure={key}>
            <td>{name}</td>
            <td class="num" data-period="today">{show(tile.today)}</td>
            <td class="num" data-period="last_hour">{show(tile.last_hour)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AgentCounts({ tile }: { tile: QueueTile }) {
  const a = tile.agents;
  const reasons = Object.entries(a.not_ready_by_reason ?? {}).filter(([, n]) => n > 0);
  const counts: [string, number][] = [
    ["logged_in", a.logged_in], ["ready", a.ready], ["ringing", a.ringing],
    ["on_call", a.on_call], ["wrap_up", a.wrap_up], ["not_ready", a.not_ready],
  ];
  return (
    <ul class="agent-counts">
      {counts.map(([key, n]) => (
        <li key={key} class={`count-${key}`} data-count={key}>
          <span class="label">{t.board.agentCounts[key] ?? key}</span>
          <b>{n}</b>
        </li>
      ))}
      {reasons.length > 0 && (
        <li class="by-reason">
          {reasons.map(([reason, n]) => `${label(t.reasons, reason)}: ${n}`).join(", ")}
        </li>
      )}
    </ul>
  );
}

// The only part of a tile that reads the clock: the wait grows (and turns amber, then red)
// between pushes without redrawing the rest of the tile.
function LongestWait({ tile }: { tile: QueueTile }) {
  const wait = longestWait(tile, now.value);
  return (
    <div class={`big-figure c-${waitColour(tile, wait)}`}>
      <span class="label">{t.board.longestWait}</span>
      <b data-testid="longest-wait" class="mono">{duration(wait)}</b>
    </div>
  );
}

export function QueueTileView({ tile }: { tile: QueueTile }) {
  const short = plainNumber(meta.value?.shortAbandonSeconds ?? 0);
  const sl = tile.today.service_level;
  return (
    <section class="queue-tile" data-testid="queue-tile" data-queue={tile.name}>
      <h2 class="queue-name">{tile.title || tile.name}</h2>
      <div class="queue-now">
        <div class={`big-figure c-${waitingColour(tile)}`}>
          <span class="label">{t.board.waiting}</span>
          <b data-testid="waiting">{tile.waiting}</b>
        </div>
        <LongestWait tile={tile} />
        <div class={`big-figure c-${slColour(tile, sl)}`}>
          <span class="label">{t.board.serviceLevel}</span>
          <b data-testid="service-level">{share(sl)}</b>
          <span class="hint">{t.board.slTarget(percent(tile.sl_target), tile.sl_threshold)}</span>
        </div>
      </div>
      <AgentCounts tile={tile} />
      <p class="talking-now" data-testid="talking-now">
        <span class="label">{t.board.talkingNow}</span> <b>{tile.talking}</b>{" "}
        <span class="hint">({t.board.talkingHint})</span>
      </p>
      <FiguresTable tile={tile} short={short} />
      <LastHourChart tile={tile} />
      <p class="formula">{t.board.formulas.serviceLevel(tile.sl_threshold, short)}</p>
      <p class="formula">{t.board.formulas.abandonRate(short)}</p>
      <p class="formula" data-testid="formula-counted">{t.board.formulas.counted}</p>
    </section>
  );
}
