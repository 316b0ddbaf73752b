// Screen pops of this agent, by call. A screen_pop brings the whole Pop; a pop_update only the
// fields that changed, merged into ours; a pop_closed removes it and leaves a notice (ringall: a
// colleague answered). The card the agent picked (among candidates or by a search) is kept
// beside the pop, not inside it, so the next pop_update does not undo the choice.
import { computed, signal } from "@preact/signals";
import type { Choice, ConsumerCard, Pop, PopChange, PopClosed } from "../api/contract";

export const pops = signal<Pop[]>([]);
export const selectedCallId = signal<string | null>(null);
export const picked = signal<Record<string, ConsumerCard>>({});
export const notices = signal<PopClosed[]>([]);
export const dispositions = signal<Choice[]>([]);

// The card shown when no call is selected: one found by a search between calls.
export const idleCard = signal<ConsumerCard | null>(null);

export const selectedPop = computed<Pop | null>(() => {
  const list = pops.value;
  return list.find((p) => p.call_id === selectedCallId.value) ?? list[list.length - 1] ?? null;
});

/** The card to show for a pop: the one the agent picked, else the one the server found. */
export function cardOf(pop: Pop): ConsumerCard | null {
  return picked.value[pop.call_id] ?? pop.card;
}

export function replaceAll(list: Pop[]): void {
  pops.value = list;
  const known = new Set(list.map((p) => p.call_id));
  picked.value = Object.fromEntries(Object.entries(picked.value).filter(([id]) => known.has(id)));
  if (selectedCallId.value && !known.has(selectedCallId.value)) selectedCallId.value = null;
}

export function upsert(pop: Pop, select: boolean): void {
  const list = pops.value;
  const at = list.findIndex((p) => p.call_id === pop.call_id);
  if (at < 0) {
    // A new call rings only after the last one's wrap-up: its ended pops have had their time.
    replaceAll([...list.filter((p) => p.status !== "ended"), pop]);
  } else {
    pops.value = list.map((p, i) => (i === at ? pop : p));
  }
  if (select || at < 0) selectedCallId.value = pop.call_id;
}

/** A pop_update: merged into the pop of its call. One this page does not hold is dropped: the
 * page connected after it closed, or the state at connect brought it as it is now. */
export function update(change: PopChange): void {
  const list = pops.value;
  const at = list.findIndex((p) => p.call_id === change.call_id);
  if (at < 0) return;
  pops.value = list.map((p, i) => (i === at ? { ...p, ...change } : p));
}

const NOTICE_MS = 8000;

export function close(closed: PopClosed): void {
  replaceAll(pops.value.filter((p) => p.call_id !== closed.call_id));
  notices.value = [...notices.value, closed];
  setTimeout(() => (notices.value = notices.value.filter((n) => n !== closed)), NOTICE_MS);
}

export function dismiss(callId: string): void {
  replaceAll(pops.value.filter((p) => p.call_id !== callId));
}

export function pick(callId: string | null, card: ConsumerCard): void {
  if (callId === null) idleCard.value = card;
  else picked.value = { ...picked.value, [callId]: card };
}

export function unpick(callId: string | null): void {
  if (callId === null) idleCard.value = null;
  else {
    const next = { ...picked.value };
    delete next[callId];
    picked.value = next;
  }
}
