// The last hour of a queue in 5-minute buckets, drawn by uPlot: offered, answered and abandoned
// as bars side by side, the service level as a line (right axis, %) against the queue's target
// (dashed). The columns come from stores/boardChart.ts; the chart is made once per tile and fed
// each pushed series in place. What the chart holds is written on the figure (data-offered,
// data-answered, data-abandoned, data-sl: one value per bucket), read back from the chart itself.
import { useMemo, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { QueueTile } from "../../api/contract";
import { t } from "../../locale";
import { percent, time } from "../../format";
import { BARS, lastHourColumns, lastHourData, type LastHourData } from "../../stores/boardChart";
import { cssColour, useUPlot, widthOf } from "../charts/useUPlot";

const HEIGHT = 140;
const FONT = "10px system-ui, sans-serif";
const COLOURS: Record<(typeof BARS)[number], [string, string]> = {
  offered: ["--offered", "#94a3b8"],
  answered: ["--ready", "#1e8e3e"],
  abandoned: ["--danger", "#b3261e"],
};

export function LastHourChart({ tile }: { tile: QueueTile }) {
  const series = tile.last_hour_series ?? [];
  const data = useMemo(() => lastHourData(series, tile.sl_target), [series, tile.sl_target]);
  if (!data) return null;
  return (
    <figure class="last-hour-chart" data-testid="last-hour-chart">
      <LastHourPlot data={data} />
      <figcaption>
        {BARS.map((b) => <span key={b} class={`legend legend-${b}`}>{t.board.chart.bars[b]}</span>)}
        <span class="legend legend-sl">{t.board.chart.serviceLevel}</span>
        <span class="legend legend-target">{t.board.chart.target(percent(tile.sl_target))}</span>
      </figcaption>
    </figure>
  );
}

function LastHourPlot({ data }: { data: LastHourData }) {
  // The chart's callbacks read the latest data: scales and bar positions follow each push.
  const latest = useRef(data);
  latest.current = data;
  const columns = useMemo(() => lastHourColumns(data) as uPlot.AlignedData, [data]);
  const host = useUPlot((el) => options(el, latest), columns, expose);
  return <div ref={host} class="chart-host" role="img" aria-label={t.board.chart.title} />;
}

function options(el: HTMLElement, latest: { current: LastHourData }): uPlot.Options {
  const sl = cssColour(el, "--busy", "#1a5fb4");
  const muted = cssColour(el, "--muted", "#6b7280");
  const grid = { stroke: cssColour(el, "--line", "#d8dde3"), width: 1 };
  const bar = (b: (typeof BARS)[number]): uPlot.Series => {
    const colour = cssColour(el, ...COLOURS[b]);
    return {
      label: t.board.chart.bars[b],
      scale: "count",
      fill: colour,
      stroke: colour,
      width: 0,
      points: { show: false },
      paths: uPlot.paths.bars!({
        disp: {
          x0: { unit: 1, values: () => latest.current.barLeft[b] },
          size: { unit: 1, values: () => [latest.current.barWidth] },
        },
      }),
    };
  };
  return {
    width: widthOf(el),
    height: HEIGHT,
    legend: { show: false },
    cursor: { show: false },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    scales: {
      x: { time: true, range: () => latest.current.range },
      count: { range: () => [0, latest.current.top] },
      sl: { range: [0, 100] },
    },
    axes: [
      {
        font: FONT, stroke: muted, grid: { show: false }, size: 22, incrs: [300, 600, 900, 1200, 1800, 3600],
        values: (_u, splits) => splits.map((s) => time(new Date(s * 1000).toISOString())),
      },
      { scale: "count", font: FONT, stroke: muted, grid, size: 28, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
      {
        scale: "sl", side: 1, font: FONT, stroke: sl, grid: { show: false }, size: 42,
        incrs: [25, 50], values: (_u, splits) => splits.map((s) => `${s} %`),
      },
    ],
    series: [
      {},
      ...BARS.map(bar),
      { label: t.board.chart.serviceLevel, scale: "sl", stroke: sl, width: 1.5, points: { show: true, size: 4, fill: sl } },
      { label: t.board.chart.target(""), scale: "sl", stroke: sl, width: 1, dash: [3, 3], points: { show: false } },
    ],
  };
}

// What the chart was given, on the figure: the browser test reads the buckets from here.
function expose(u: uPlot) {
  const figure = u.root.closest("figure");
  if (!figure) return;
  const column = (i: number) => (u.data[i] as (number | null | undefined)[]).map((v) => v ?? "").join(",");
  figure.dataset.buckets = String(u.data[0].length);
  BARS.forEach((b, k) => {
    figure.dataset[b] = column(k + 1);
  });
  figure.dataset.sl = column(BARS.length + 1);
}
