// The current time, ticking each second: time in state, the wrap-up countdown. The server's
// clock may differ from the browser's; `skew` (server minus browser, ms) is learnt from the
// `since` of each fresh state change, so counters do not start at -3 s on a skewed PC.
import { computed, signal } from "@preact/signals";

export const browserNow = signal(Date.now());
export const skew = signal(0);
export const now = computed(() => browserNow.value + skew.value);

let timer: ReturnType<typeof setInterval> | null = null;

export function startClock(): void {
  if (timer === null) timer = setInterval(() => (browserNow.value = Date.now()), 1000);
}

export function learnSkew(serverStamp: string): void {
  const at = Date.parse(serverStamp);
  if (Number.isNaN(at)) return;
  const ahead = at - Date.now();
  // Only a server clearly ahead of us tells us something (an old `since` says nothing).
  if (ahead > 1000) skew.value = ahead;
}

export function secondsSince(iso: string | null | undefined, at: number): number {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : (at - t) / 1000;
}
