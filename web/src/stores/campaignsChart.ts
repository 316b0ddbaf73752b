// The progress chart's columns, as uPlot draws them (features/campaigns/ProgressChart.tsx):
// dialled, answered, confirmed and failed over time, the y axis from 0 to the campaign's total
// attempts. Pure and free of the chart library, so the numbers are tested without a browser.
import type { Sample } from "./campaigns";

export const SERIES = ["dialled", "answered", "confirmed", "failed"] as const;
export type Series = (typeof SERIES)[number];

export interface ProgressData {
  x: number[]; // unix seconds
  lines: Record<Series, number[]>;
  total: number[]; // the attempts at each point, drawn as the dashed line the others rise to
  top: number; // the y axis's largest value (the attempts)
  range: [number, number]; // the x axis, first sample to now (at least a second wide)
  spanMs: number; // first sample to now
}

export function progressData(samples: Sample[], now?: number): ProgressData | null {
  if (samples.length === 0) return null;
  const first = samples[0].at;
  const end = samples[samples.length - 1];
  const last = Math.max(end.at, now ?? 0);
  // The figures hold until now: each line runs on flat to the right edge.
  const points = last > end.at ? [...samples, { ...end, at: last }] : samples;
  const lines = {} as Record<Series, number[]>;
  for (const series of SERIES) lines[series] = points.map((s) => s[series]);
  return {
    x: points.map((s) => s.at / 1000),
    lines,
    total: points.map((s) => s.total),
    top: Math.max(1, ...samples.map((s) => s.total)),
    range: [first / 1000, Math.max(last, first + 1000) / 1000],
    spanMs: last - first,
  };
}

/** The columns in the order the chart's series are declared: x, SERIES, then the attempts. */
export function progressColumns(d: ProgressData): number[][] {
  return [d.x, ...SERIES.map((s) => d.lines[s]), d.total];
}
