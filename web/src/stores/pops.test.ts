import { beforeEach, describe, expect, it } from "vitest";
import type { ConsumerCard, Pop } from "../api/contract";
import { cardOf, close, notices, pick, picked, pops, replaceAll, selectedCallId, selectedPop, update, upsert } from "./pops";

function pop(call_id: string, extra: Partial<Pop> = {}): Pop {
  return {
    call_id, queue: "support", caller_number: "+79120000001", status: "ringing",
    ringing_at: "2026-12-03T10:00:00Z", answered_at: null, ended_at: null, card: null,
    candidates: [], ivr: null, transferred_from: null, disposition: null, ...extra,
  };
}

const chosen = { account: { number: "100200300" } } as unknown as ConsumerCard;

beforeEach(() => {
  replaceAll([]);
  notices.value = [];
  selectedCallId.value = null;
});

describe("pops", () => {
  it("shows a new pop at once and merges an update's changes into it, keeping the agent's choice", () => {
    const candidates = [{ account: "100200300", consumer_name: "X", address: "", status: "active", total_debt: "0" }];
    upsert(pop("a", { candidates, ivr: { identified_by: "phone", account: null, intent: null, readings: 0, balance_heard: false, outage_heard: false, summary: "" } }), true);
    pick("a", chosen);
    update({ call_id: "a", status: "answered", answered_at: "2026-12-03T10:00:05Z" });
    expect(pops.value).toHaveLength(1);
    expect(pops.value[0].status).toBe("answered");
    expect(pops.value[0].answered_at).toBe("2026-12-03T10:00:05Z");
    expect(pops.value[0].candidates).toEqual(candidates);
    expect(pops.value[0].ivr?.identified_by).toBe("phone");
    expect(cardOf(pops.value[0])).toBe(chosen);
    update({ call_id: "a", status: "ended", ended_at: "2026-12-03T10:01:00Z", disposition: null });
    expect(pops.value[0]).toMatchObject({ status: "ended", answered_at: "2026-12-03T10:00:05Z", ended_at: "2026-12-03T10:01:00Z" });
  });

  it("drops an update of a call it holds no pop for", () => {
    upsert(pop("a"), true);
    update({ call_id: "b", status: "answered", answered_at: "2026-12-03T10:00:05Z" });
    expect(pops.value.map((p) => p.call_id)).toEqual(["a"]);
    expect(pops.value[0].status).toBe("ringing");
  });

  it("selects a newly arrived pop but not an updated one", () => {
    upsert(pop("a"), true);
    upsert(pop("b"), true);
    expect(selectedPop.value?.call_id).toBe("b");
    selectedCallId.value = "a";
    upsert(pop("b", { status: "answered" }), false);
    expect(selectedPop.value?.call_id).toBe("a");
  });

  it("removes a closed pop (a colleague answered) and leaves a notice", () => {
    upsert(pop("a"), true);
    pick("a", chosen);
    close({ call_id: "a", reason: "answered_elsewhere" });
    expect(pops.value).toEqual([]);
    expect(picked.value).toEqual({});
    expect(notices.value.map((n) => n.reason)).toEqual(["answered_elsewhere"]);
    expect(selectedPop.value).toBeNull();
  });

  it("takes the server's list as the truth after a reconnect", () => {
    upsert(pop("old"), true);
    replaceAll([pop("new")]);
    expect(pops.value.map((p) => p.call_id)).toEqual(["new"]);
    expect(selectedPop.value?.call_id).toBe("new");
  });
});

describe("ended pops", () => {
  it("stay through the wrap-up and leave when the next call rings", () => {
    upsert(pop("a"), true);
    upsert(pop("a", { status: "ended", ended_at: "2026-12-03T10:01:00Z" }), false);
    expect(pops.value.map((p) => p.status)).toEqual(["ended"]);
    upsert(pop("b"), true);
    expect(pops.value.map((p) => p.call_id)).toEqual(["b"]);
  });
});
