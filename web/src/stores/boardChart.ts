// The last hour's chart of a queue tile, as the columns uPlot draws (features/board/
// LastHourChart.tsx): per 5-minute bucket three bars side by side (offered, answered, abandoned)
// on a count scale, and the service level in percent as a line on a 0–100 scale with the queue's
// target beside it. The buckets are the server's (QueueTile.last_hour_series, the same legs as
// the figures). Pure and free of the chart library, so the numbers are tested without a browser.
import type { SeriesPoint } from "../api/contract";

export const BARS = ["offered", "answered", "abandoned"] as const;
export type Bar = (typeof BARS)[number];

// The share of a bucket's width its three bars take together (the rest is the gap between buckets).
const BARS_SHARE = 0.8;

export interface LastHourData {
  x: number[]; // each bucket's middle, unix seconds (where the SL point sits)
  counts: Record<Bar, number[]>;
  sl: (number | null)[]; // percent; null where the bucket has no SL, which breaks the line
  target: number[]; // the queue's SL target in percent, one per bucket (a flat line)
  barLeft: Record<Bar, number[]>; // each bar's left edge, unix seconds
  barWidth: number; // seconds
  range: [number, number]; // the x axis: first bucket's start to last bucket's end
  top: number; // the count scale's largest value
}

const epoch = (iso: string) => Date.parse(iso) / 1000;

export function lastHourData(series: SeriesPoint[], slTarget: number): LastHourData | null {
  if (series.length === 0) return null;
  const starts = series.map((p) => epoch(p.start));
  const barWidth = (series[0].seconds * BARS_SHARE) / BARS.length;
  const gap = (series[0].seconds * (1 - BARS_SHARE)) / 2;
  const counts = {} as Record<Bar, number[]>;
  const barLeft = {} as Record<Bar, number[]>;
  BARS.forEach((bar, k) => {
    counts[bar] = series.map((p) => p[bar]);
    barLeft[bar] = starts.map((s) => s + gap + k * barWidth);
  });
  const last = series[series.length - 1];
  return {
    x: series.map((p, i) => starts[i] + p.seconds / 2),
    counts,
    sl: series.map((p) => (p.service_level === null || p.service_level === undefined ? null : p.service_level * 100)),
    target: series.map(() => slTarget * 100),
    barLeft,
    barWidth,
    range: [starts[0], epoch(last.start) + last.seconds],
    top: Math.max(1, ...series.map((p) => Math.max(p.offered, p.answered, p.abandoned))),
  };
}

/** The columns in the order the chart's series are declared: x, the three bars, SL, target. */
export function lastHourColumns(d: LastHourData): (number | null)[][] {
  return [d.x, ...BARS.map((bar) => d.counts[bar]), d.sl, d.target];
}
