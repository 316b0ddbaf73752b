import { beforeEach, describe, expect, it } from "vitest";
import type { AgentRow, Board, Callback, Figures, QueueTile, SeriesPoint, TileColours } from "../api/contract";
import {
  abandoned,
  abandonedInOrder,
  agents,
  agentsInOrder,
  applyAbandoned,
  applyAgent,
  applyAudit,
  applyBoard,
  applyCallbacks,
  applyQueue,
  audit,
  AUDIT_KEPT,
  callbacks,
  clearBoard,
  longestWait,
  meta,
  openCallbacks,
  queues,
  secondsInState,
} from "./board";
import { slColour, waitColour, waitingColour } from "./boardColours";
import { lastHourColumns, lastHourData } from "./boardChart";
import { refusalOf } from "./boardLink";
import { agentKey, notes, settle } from "./boardActions";
import { PushCoalescer } from "./boardPushes";
import { skew } from "./clock";

const T0 = Date.parse("2026-12-03T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function figures(extra: Partial<Figures> = {}): Figures {
  return {
    offered: 0, answered: 0, abandoned: 0, short_abandoned: 0, timeout: 0, transferred: 0,
    answered_in_threshold: 0, service_level: null, asa: null, avg_wait: null, aht: null,
    longest_handle: null, avg_wrapup: null, abandon_rate: null, ...extra,
  };
}

// What the server sends with its default settings for a queue with a 20 s threshold.
const COLOURS: TileColours = {
  sl_target: 0.8, sl_red_below: 0.7, waiting_amber: 3, waiting_red: 6, wait_amber: 20, wait_red: 60,
};

function tile(name: string, extra: Partial<QueueTile> = {}): QueueTile {
  return {
    name, title: null, sl_threshold: 20, sl_target: 0.8, colours: COLOURS, waiting: 0, talking: 0,
    longest_wait_since: null, longest_wait: 0,
    agents: { logged_in: 1, ready: 1, ringing: 0, on_call: 0, wrap_up: 0, not_ready: 0, not_ready_by_reason: {} },
    today: figures(), last_hour: figures(), last_hour_series: [], ...extra,
  };
}

function agent(id: number, extra: Partial<AgentRow> = {}): AgentRow {
  return {
    agent_id: id, login: `a${id}`, full_name: `Оператор ${id}`, state: "ready", reason: null,
    since: iso(T0), queues: ["support"], calls_today: 0, aht_today: null, call_id: null, ...extra,
  };
}

function callback(id: number, due: number, extra: Partial<Callback> = {}): Callback {
  return {
    id, account: "100200300", phone: "+79120000001", agent_id: 1, created_at: iso(T0 - 3600_000),
    due_at: iso(due), overdue: false, note: "", status: "open", outcome: null, ...extra,
  };
}

function board(extra: Partial<Board> = {}): Board {
  return {
    generated_at: iso(T0), day: "2026-12-03", timezone: "Europe/Moscow",
    formulas: { service_level: "answered_in_threshold / (offered - short_abandoned)" },
    queues: [tile("support"), tile("billing")], agents: [agent(1), agent(2)], abandoned: [], callbacks: [],
    short_abandon_seconds: 5, pause_reasons: [], ...extra,
  };
}

beforeEach(() => {
  clearBoard();
  skew.value = 0;
});

describe("the board at connect and the pushes after it", () => {
  it("takes the whole board at connect, then replaces one tile or one row per push", () => {
    applyBoard(board());
    applyQueue(tile("billing", { waiting: 2, longest_wait_since: T0 / 1000 - 5, longest_wait: 5 }));
    applyAgent(agent(2, { state: "not_ready", reason: "lunch", since: iso(T0 + 1000) }));

    expect(queues.value.map((q) => [q.name, q.waiting])).toEqual([["support", 0], ["billing", 2]]);
    expect(agents.value.map((a) => [a.agent_id, a.state, a.reason])).toEqual([
      [1, "ready", null],
      [2, "not_ready", "lunch"],
    ]);
    expect(meta.value?.day).toBe("2026-12-03");
    expect(meta.value?.shortAbandonSeconds).toBe(5);
  });

  it("adds a queue or an agent the board did not have", () => {
    applyBoard(board());
    applyQueue(tile("outage"));
    applyAgent(agent(3, { state: "logged_out" }));
    expect(queues.value.map((q) => q.name)).toEqual(["support", "billing", "outage"]);
    expect(agents.value.map((a) => a.agent_id)).toEqual([1, 2, 3]);
  });

  it("takes a new board after a reconnect as the truth, dropping what pushes had added", () => {
    applyBoard(board());
    applyAgent(agent(3));
    applyQueue(tile("outage", { waiting: 4 }));
    applyBoard(board({ queues: [tile("support", { waiting: 1 })], agents: [agent(1)] }));
    expect(queues.value.map((q) => [q.name, q.waiting])).toEqual([["support", 1]]);
    expect(agents.value.map((a) => a.agent_id)).toEqual([1]);
  });

  it("replaces the abandoned and callback lists whole, and keeps the latest audit lines first", () => {
    applyBoard(board());
    const call = { record_id: 7, call_id: "c7", queue: "support", caller_number: "+79120000007", account: null,
      waited: 42, abandoned_at: iso(T0), called_back: false, called_back_at: null };
    applyAbandoned([call]);
    applyAbandoned([{ ...call, called_back: true, called_back_at: iso(T0 + 60_000) }]);
    expect(abandoned.value.map((a) => a.called_back)).toEqual([true]);
    applyCallbacks([callback(1, T0)]);
    expect(callbacks.value.map((c) => c.id)).toEqual([1]);
    for (let i = 0; i < AUDIT_KEPT + 5; i++) {
      applyAudit({ id: i, at: iso(T0 + i), actor_id: 9, actor_login: "boss", action: "force_not_ready",
        target_agent_id: 1, target: null, details: {}, result: "ok", message: null });
    }
    expect(audit.value).toHaveLength(AUDIT_KEPT);
    expect(audit.value[0].id).toBe(AUDIT_KEPT + 4);
  });

  it("forgets everything when the session ends", () => {
    applyBoard(board());
    clearBoard();
    expect([meta.value, queues.value, agents.value]).toEqual([null, [], []]);
  });
});

describe("what moves with the clock", () => {
  it("grows the longest wait with the clock between pushes, from the caller's join", () => {
    const since = (T0 - 15_600) / 1000;
    const waiting = tile("support", { waiting: 1, longest_wait_since: since, longest_wait: 15.6 });
    expect(longestWait(waiting, T0)).toBeCloseTo(15.6, 6);
    expect(longestWait(waiting, T0 + 1_400)).toBeCloseTo(17.0, 6);
    expect(longestWait(waiting, T0 + 60_000)).toBeCloseTo(75.6, 6);
  });

  it("shows no wait when nobody waits, and the generated wait when the join is unknown", () => {
    expect(longestWait(tile("support", { waiting: 0, longest_wait_since: T0 / 1000 - 30 }), T0)).toBe(0);
    expect(longestWait(tile("support", { waiting: 2, longest_wait: 12 }), T0 + 5000)).toBe(12);
  });

  it("counts an agent's time in state from its since", () => {
    expect(secondsInState(agent(1, { since: iso(T0) }), T0 + 125_000)).toBe(125);
    expect(secondsInState(agent(1, { since: iso(T0) }), T0 - 3000)).toBe(0);
    expect(secondsInState(agent(1, { since: null }), T0)).toBeNull();
  });

  it("lists open callbacks by due time and marks one overdue once the clock passes its due time", () => {
    const list = [
      callback(1, T0 + 2 * 3600_000),
      callback(2, T0 + 60_000),
      callback(3, T0 - 60_000, { overdue: true }),
      callback(4, T0 - 3600_000, { status: "done", outcome: "answered" }),
    ];
    const before = openCallbacks(list, T0);
    expect(before.map((c) => [c.id, c.overdueNow])).toEqual([[3, true], [2, false], [1, false]]);
    const after = openCallbacks(list, T0 + 61_000);
    expect(after.map((c) => [c.id, c.overdueNow])).toEqual([[3, true], [2, true], [1, false]]);
  });

  it("orders abandoned calls with those nobody called back first, newest first", () => {
    const a = (id: number, at: number, back: boolean) => ({ record_id: id, call_id: `c${id}`, queue: "q",
      caller_number: "+7", account: null, waited: 1, abandoned_at: iso(at), called_back: back, called_back_at: null });
    const ordered = abandonedInOrder([a(1, T0, false), a(2, T0 + 1000, true), a(3, T0 + 2000, false)]);
    expect(ordered.map((x) => x.record_id)).toEqual([3, 1, 2]);
  });

  it("orders agents by name with those out of the queues last", () => {
    const list = [agent(1, { full_name: "Яковлева" }), agent(2, { full_name: "Андреев", state: "logged_out" }),
      agent(3, { full_name: "Борисова" })];
    expect(agentsInOrder(list).map((a) => a.agent_id)).toEqual([3, 1, 2]);
  });
});

describe("tile colours", () => {
  it("turns the service level amber under the queue's target and red under the server's red line", () => {
    const q = tile("support");
    expect(slColour(q, 0.85)).toBe("ok");
    expect(slColour(q, 0.8)).toBe("ok");
    expect(slColour(q, 0.75)).toBe("warn");
    expect(slColour(q, 0.5)).toBe("alarm");
    expect(slColour(q, null)).toBe("none");
    const strict = tile("outages", { sl_target: 0.9, colours: { ...COLOURS, sl_target: 0.9, sl_red_below: 0.8 } });
    expect(slColour(strict, 0.85)).toBe("warn");
    expect(slColour(strict, 0.79)).toBe("alarm");
  });

  it("turns the longest wait amber and red at the server's thresholds, as the clock runs", () => {
    const waiting = tile("support", { waiting: 1, sl_threshold: 20, longest_wait_since: T0 / 1000 });
    expect(waitColour(waiting, longestWait(waiting, T0 + 19_000))).toBe("ok");
    expect(waitColour(waiting, longestWait(waiting, T0 + 20_000))).toBe("warn");
    expect(waitColour(waiting, longestWait(waiting, T0 + 60_000))).toBe("alarm");
    const patient = tile("support", { waiting: 1, colours: { ...COLOURS, wait_amber: 45, wait_red: 90 } });
    expect(waitColour(patient, 30)).toBe("ok");
    expect(waitColour(patient, 45)).toBe("warn");
    expect(waitColour(tile("support", { waiting: 0 }), 500)).toBe("ok");
  });

  it("turns the waiting count amber and red at the server's thresholds", () => {
    expect(waitingColour(tile("q", { waiting: 2 }))).toBe("ok");
    expect(waitingColour(tile("q", { waiting: 3 }))).toBe("warn");
    expect(waitingColour(tile("q", { waiting: 6 }))).toBe("alarm");
    expect(waitingColour(tile("q", { waiting: 1, colours: { ...COLOURS, waiting_amber: 1 } }))).toBe("warn");
  });
});

describe("the last hour's chart", () => {
  const point = (i: number, extra: Partial<SeriesPoint> = {}): SeriesPoint => ({
    start: iso(T0 + i * 300_000), seconds: 300, offered: 0, answered: 0, abandoned: 0, service_level: null, ...extra,
  });
  const S0 = T0 / 1000;

  it("when buckets have calls then each figure is a bar of its bucket, side by side, on one count scale", () => {
    const series = Array.from({ length: 12 }, (_, i) => point(i));
    series[1] = point(1, { offered: 4, answered: 3, abandoned: 1, service_level: 0.75 });
    series[5] = point(5, { offered: 1, abandoned: 1, service_level: 0 });
    const d = lastHourData(series, 0.8)!;
    expect(d.top).toBe(4);
    expect(d.counts.offered).toEqual([0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(d.counts.answered).toEqual([0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(d.counts.abandoned).toEqual([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    // Three bars of 80 s in the middle 240 s of a 300 s bucket, left to right.
    expect(d.barWidth).toBe(80);
    expect([d.barLeft.offered[1], d.barLeft.answered[1], d.barLeft.abandoned[1]]).toEqual(
      [S0 + 300 + 30, S0 + 300 + 110, S0 + 300 + 190]);
    expect(d.x[0]).toBe(S0 + 150);
    expect(d.range).toEqual([S0, S0 + 12 * 300]);
  });

  it("when some buckets have no service level then the SL line has gaps there, against a flat target", () => {
    const series = Array.from({ length: 6 }, (_, i) => point(i));
    series[1] = point(1, { offered: 4, answered: 3, service_level: 0.75 });
    series[2] = point(2, { offered: 2, answered: 2, service_level: 1 });
    series[5] = point(5, { offered: 1, abandoned: 1, service_level: 0 });
    const d = lastHourData(series, 0.8)!;
    expect(d.sl).toEqual([null, 75, 100, null, null, 0]);
    expect(d.target).toEqual([80, 80, 80, 80, 80, 80]);
    expect(lastHourColumns(d)).toEqual([d.x, d.counts.offered, d.counts.answered, d.counts.abandoned, d.sl, d.target]);
  });

  it("when there is no series then nothing is drawn, and an empty hour has a count scale of 1", () => {
    expect(lastHourData([], 0.8)).toBeNull();
    const empty = lastHourData([point(0), point(1)], 0.8)!;
    expect(empty.counts.offered).toEqual([0, 0]);
    expect(empty.sl).toEqual([null, null]);
    expect(empty.top).toBe(1);
  });
});

describe("a refused connect", () => {
  it("ends the session of a user who is not a supervisor, with the page's own words", () => {
    const r = refusalOf("{'error_id': 'forbidden', 'message': \"role 'agent' has no board\"}");
    expect(r.sessionOver).toBe(true);
    expect(r.message).toContain("только супервизорам");
  });

  it("ends the session on a bad token and keeps the server's message", () => {
    const r = refusalOf("{'error_id': 'unauthorized', 'message': 'the session was ended'}");
    expect(r).toEqual({ sessionOver: true, message: "the session was ended" });
  });
});

describe("a forced change waiting for the PBX", () => {
  it("keeps its note until the pushed row shows exactly the state and reason asked", () => {
    const key = agentKey(1);
    notes.value = { [key]: { kind: "done", text: "asked", wants: { agentId: 1, state: "not_ready", reason: "lunch" } } };
    settle(agent(1, { state: "ringing" }));
    settle(agent(1, { state: "not_ready", reason: "break" }));
    settle(agent(2, { state: "not_ready", reason: "lunch" }));
    expect(notes.value[key]?.text).toBe("asked");
    settle(agent(1, { state: "not_ready", reason: "lunch" }));
    expect(notes.value[key]).toBeUndefined();
  });
});

describe("pushes coalesced between drawings", () => {
  function manual() {
    const runs: (() => void)[] = [];
    const settled: number[] = [];
    const c = new PushCoalescer((rows) => settled.push(...rows.map((r) => r.agent_id)), (run) => runs.push(run));
    return { c, runs, settled };
  }

  it("applies nothing until the flush, then the last push of each key, all at once", () => {
    const { c, runs, settled } = manual();
    c.board(board());
    c.agentBatch([agent(1, { state: "ringing" })]);
    c.agentBatch([agent(1, { state: "on_call", call_id: "x" })]);
    c.queueBatch([tile("support", { waiting: 1 }), tile("outage", { waiting: 2 })]);
    c.queueBatch([tile("support", { waiting: 0 }), tile("outage", { waiting: 3 })]);
    expect(agents.value[0].state).toBe("ready");
    expect(runs).toHaveLength(1);
    runs[0]();
    expect(agents.value.map((a) => [a.agent_id, a.state])).toEqual([[1, "on_call"], [2, "ready"]]);
    expect(queues.value.map((q) => [q.name, q.waiting])).toEqual([["support", 0], ["billing", 0], ["outage", 3]]);
    expect(settled).toEqual([1]);
  });

  it("drops pushes older than a new board, and keeps those after it", () => {
    const { c, runs } = manual();
    c.board(board());
    c.agentBatch([agent(2, { state: "wrap_up" })]);
    c.board(board({ agents: [agent(1), agent(2, { state: "not_ready", reason: "lunch" })] }));
    c.abandonedList([]);
    c.agentBatch([agent(1, { state: "ringing" })]);
    runs.forEach((run) => run());
    expect(agents.value.map((a) => [a.agent_id, a.state])).toEqual([[1, "ringing"], [2, "not_ready"]]);
  });

  it("applies every row of one batch in one flush, and an empty batch schedules nothing", () => {
    const { c, runs, settled } = manual();
    c.board(board());
    c.queueBatch([]);
    c.agentBatch([]);
    expect(runs).toHaveLength(0);
    c.agentBatch([agent(1, { state: "wrap_up" }), agent(2, { state: "on_call", call_id: "y" })]);
    expect(runs).toHaveLength(1);
    runs[0]();
    expect(agents.value.map((a) => [a.agent_id, a.state])).toEqual([[1, "wrap_up"], [2, "on_call"]]);
    expect(settled).toEqual([1, 2]);
  });

  it("takes the latest whole abandoned and callback lists", () => {
    const { c, runs } = manual();
    c.board(board());
    c.callbackList([callback(1, T0)]);
    c.callbackList([callback(1, T0), callback(2, T0)]);
    runs.forEach((run) => run());
    expect(callbacks.value.map((x) => x.id)).toEqual([1, 2]);
  });
});
