// The progress chart: dialled, answered, confirmed and failed over time, rising to the
// campaign's attempts (dashed), drawn by uPlot. The columns come from stores/campaignsChart.ts; the chart
// is made once per campaign shown and fed each push in place. What it holds is written on the
// figure (data-points, data-series, data-dialled...), read back from the chart itself.
import { useMemo, useRef } from "preact/hooks";
import uPlot from "uplot";
import { t } from "../../locale";
import { duration, time } from "../../format";
import type { Sample } from "../../stores/campaigns";
import { progressColumns, progressData, SERIES, type ProgressData, type Series } from "../../stores/campaignsChart";
import { cssColour, useUPlot, widthOf } from "../charts/useUPlot";

const HEIGHT = 200;
const FONT = "11px system-ui, sans-serif";
const COLOURS: Record<Series, [string, string]> = {
  dialled: ["--busy", "#1a5fb4"],
  answered: ["--answered", "#7c3aed"],
  confirmed: ["--ready", "#1e8e3e"],
  failed: ["--danger", "#b3261e"],
};

export function ProgressChart({ samples, now }: { samples: Sample[]; now?: number }) {
  const data = useMemo(() => progressData(samples, now), [samples, now]);
  if (!data) return <p class="muted">{t.campaigns.progress.noChart}</p>;
  return (
    <figure class="progress-chart" data-testid="progress-chart">
      <ProgressPlot data={data} />
      <figcaption>
        {SERIES.map((s) => <span key={s} class={`legend legend-${s}`}>{t.campaigns.progress.series[s]}</span>)}
        <span class="muted">{t.campaigns.progress.total}: {data.top} · {duration(data.spanMs / 1000)}</span>
      </figcaption>
    </figure>
  );
}

function ProgressPlot({ data }: { data: ProgressData }) {
  const latest = useRef(data);
  latest.current = data;
  const columns = useMemo(() => progressColumns(data) as uPlot.AlignedData, [data]);
  const host = useUPlot((el) => options(el, latest), columns, expose);
  return <div ref={host} class="chart-host" role="img" aria-label={t.campaigns.progress.chartTitle} />;
}

function options(el: HTMLElement, latest: { current: ProgressData }): uPlot.Options {
  const muted = cssColour(el, "--muted", "#6b7280");
  const grid = { stroke: cssColour(el, "--line", "#d8dde3"), width: 1 };
  return {
    width: widthOf(el),
    height: HEIGHT,
    legend: { show: false },
    cursor: { show: false },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    scales: {
      x: { time: true, range: () => latest.current.range },
      y: { range: () => [0, latest.current.top] },
    },
    axes: [
      {
        font: FONT, stroke: muted, grid, size: 24, space: 70,
        // Whole seconds at least: a campaign a few seconds old gets no sub-second ticks.
        incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400],
        values: (_u, splits) => splits.map((s) => time(new Date(s * 1000).toISOString(), true)),
      },
      { font: FONT, stroke: muted, grid, size: 36, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000] },
    ],
    series: [
      {},
      ...SERIES.map((s): uPlot.Series => ({
        label: t.campaigns.progress.series[s],
        stroke: cssColour(el, ...COLOURS[s]),
        width: 2,
        points: { show: false },
      })),
      { label: t.campaigns.progress.total, stroke: muted, width: 1, dash: [4, 3], points: { show: false } },
    ],
  };
}

// What the chart was given, on the figure: the browser test reads the lines from here.
function expose(u: uPlot) {
  const figure = u.root.closest("figure");
  if (!figure) return;
  figure.dataset.points = String(u.data[0].length);
  figure.dataset.series = SERIES.join(",");
  SERIES.forEach((s, k) => {
    figure.dataset[s] = (u.data[k + 1] as number[]).join(",");
  });
}
