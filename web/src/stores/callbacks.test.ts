import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Callback } from "../api/contract";
import { byDue, close, explain, mine, notes, promise, refresh } from "./callbacks";
import { ApiError } from "../api/http";
import { token } from "./session";

const T0 = Date.parse("2026-12-03T10:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function commitment(id: number, dueMinutes: number, extra: Partial<Callback> = {}): Callback {
  return {
    id,
    account: null,
    phone: "+79130000000",
    agent_id: 7,
    created_at: at(dueMinutes - 240),
    due_at: at(dueMinutes),
    overdue: false,
    note: "",
    status: "open",
    outcome: null,
    ...extra,
  };
}

describe("byDue", () => {
  it("when commitments come in any order then the soonest due is first, ties by id", () => {
    const list = [commitment(3, 90), commitment(1, 30), commitment(4, 30), commitment(2, 60)];
    expect(byDue(list, T0).map((c) => c.id)).toEqual([1, 4, 2, 3]);
  });

  it("when a commitment is closed then it is not listed", () => {
    const list = [commitment(1, 30), commitment(2, 10, { status: "done", outcome: "answer_given" })];
    expect(byDue(list, T0).map((c) => c.id)).toEqual([1]);
  });

  it("when the clock passes the due time then it turns overdue without a new answer", () => {
    const list = [commitment(1, 5)];
    const before = byDue(list, T0 + 4 * 60_000 + 59_000)[0];
    expect(before.overdueNow).toBe(false);
    expect(before.secondsLeft).toBe(1);
    const after = byDue(list, T0 + 5 * 60_000 + 1_000)[0];
    expect(after.overdueNow).toBe(true);
    expect(after.secondsLeft).toBe(-1);
  });

  it("when the server said overdue then a browser clock behind it does not undo that", () => {
    const list = [commitment(1, 5, { overdue: true })];
    expect(byDue(list, T0)[0].overdueNow).toBe(true);
  });
});

describe("actions", () => {
  const fetchMock = vi.fn();

  function answer(status: number, body: unknown) {
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
  }

  beforeEach(() => {
    token.value = "tok";
    mine.value = [];
    notes.value = {};
    fetchMock.mockReset();
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    token.value = null;
  });

  it("when an older refresh answers after a newer one then the newer list stays", async () => {
    let releaseOld: (r: Response) => void = () => undefined;
    fetchMock
      .mockImplementationOnce(() => new Promise<Response>((resolve) => (releaseOld = resolve)))
      .mockImplementationOnce(() => answer(200, { callbacks: [commitment(2, 60)] }));
    const old = refresh();
    await refresh();
    releaseOld(new Response(JSON.stringify({ callbacks: [commitment(1, 30)] }), { status: 200 }));
    await old;
    expect(mine.value.map((c) => c.id)).toEqual([2]);
  });

  it("when a commitment is recorded then it is listed before the refresh answers", async () => {
    fetchMock
      .mockImplementationOnce(() => answer(201, commitment(5, 240)))
      .mockImplementationOnce(() => new Promise<Response>(() => undefined));
    const made = await promise({ phone: "+79130000000", note: "узнать про перерасчёт" });
    expect(made.id).toBe(5);
    expect(mine.value.map((c) => c.id)).toEqual([5]);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/callbacks");
    expect(JSON.parse(init.body)).toEqual({ phone: "+79130000000", note: "узнать про перерасчёт" });
  });

  it("when the outcome is saved then the commitment leaves the list", async () => {
    mine.value = [commitment(1, 30), commitment(2, 60)];
    fetchMock
      .mockImplementationOnce(() => answer(200, commitment(1, 30, { status: "done", outcome: "busy" })))
      .mockImplementationOnce(() => new Promise<Response>(() => undefined));
    expect(await close(1, { outcome: "busy", comment: "перезвоню ещё" })).toBe(true);
    expect(mine.value.map((c) => c.id)).toEqual([2]);
    const [url, init] = fetchMock.mock.calls[0];
    expect([url, init.method]).toEqual(["/api/callbacks/1/outcome", "PUT"]);
  });

  it("when the server refuses the outcome then the row says why in the page's words and stays", async () => {
    mine.value = [commitment(1, 30)];
    fetchMock
      .mockImplementationOnce(() => answer(409, { error_id: "conflict", message: "the callback is already closed" }))
      .mockImplementationOnce(() => new Promise<Response>(() => undefined));
    expect(await close(1, { outcome: "busy" })).toBe(false);
    expect(notes.value[1]).toEqual({ kind: "failed", text: "Не выполнено: обещание уже закрыто" });
    expect(mine.value.map((c) => c.id)).toEqual([1]);
  });

  it("when an error id is unknown then the server's message is shown", () => {
    expect(explain(new ApiError(400, "bad-request", "you have no phone"))).toBe("you have no phone");
    expect(explain(new ApiError(0, "network", "x"))).toBe("Сервер недоступен");
  });
});
