// One uPlot chart per component, made once when the component mounts and fed new columns in
// place (setData) on every push: re-creating it would rebuild its canvas and axes each time.
// The width follows the host element (a tile, a panel); the height is the caller's.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export type Columns = uPlot.AlignedData;

/**
 * `options` is read once, at creation: anything that changes with the data (scale ranges, bar
 * positions) belongs in callbacks that read the caller's latest values. `shown` runs after each
 * draw of new data with the instance, e.g. to expose what it holds to tests.
 */
export function useUPlot(options: (host: HTMLElement) => uPlot.Options, columns: Columns, shown?: (u: uPlot) => void) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const fed = useRef<Columns | null>(null);

  useEffect(() => {
    const el = host.current!;
    const u = new uPlot(options(el), columns, el);
    plot.current = u;
    fed.current = columns;
    shown?.(u);
    const resized = new ResizeObserver(() => {
      const width = el.clientWidth;
      if (width > 0 && width !== u.width) u.setSize({ width, height: u.height });
    });
    resized.observe(el);
    return () => {
      resized.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    const u = plot.current;
    if (!u || fed.current === columns) return;
    fed.current = columns;
    u.setData(columns);
    shown?.(u);
  }, [columns]);

  return host;
}

/** The host's width for a new chart (a fallback while it is not laid out yet). */
export function widthOf(host: HTMLElement): number {
  return host.clientWidth || 320;
}

/** A colour of the page's palette (styles.css custom properties), for the canvas. */
export function cssColour(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}
