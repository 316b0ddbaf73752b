import { beforeEach, describe, expect, it } from "vitest";
import type { Campaign, CampaignPush, CampaignTemplate, Progress } from "../api/campaigns";
import {
  applyCampaign,
  applyFetched,
  applyList,
  applyPush,
  campaigns,
  campaignsInOrder,
  clearCampaigns,
  counts,
  HISTORY_KEPT,
  liveIds,
  markPending,
  revert,
  selectedId,
  settle,
  stateDate,
  withSample,
  type Sample,
} from "./campaigns";
import { progressColumns, progressData } from "./campaignsChart";
import { message, newForm, rubles, templates, toSpec, withTemplate } from "./campaignsForm";
import { QUIET_MS, toPoll } from "./campaignsLink";

const T0 = Date.parse("2026-12-03T10:00:00Z");

// What GET /api/campaigns/templates answers (campaigns/templates.py), abridged.
const TARGET = { has_phone: true, account_status: ["active" as const] };
const TEMPLATES: CampaignTemplate[] = [
  {
    id: "debt_stage_1", type: "debt_reminder", scenario: "debt", stage: 1,
    message: [{ kind: "prompt", name: "debt-reminder-1" }, { kind: "amount", service: null }, { kind: "prompt", name: "debt-pay-please" }],
    target: { ...TARGET, min_debt: "1000", min_months_overdue: 1 },
  },
  {
    id: "debt_stage_2", type: "debt_reminder", scenario: "debt", stage: 2,
    message: [{ kind: "prompt", name: "debt-reminder-2" }, { kind: "amount", service: null }, { kind: "prompt", name: "debt-restriction-warning" }],
    target: { ...TARGET, min_debt: "1000", min_months_overdue: 2 },
  },
  { id: "outage_alert", type: "outage_alert", scenario: null, stage: null, message: [{ kind: "prompt", name: "outage-alert" }, { kind: "address" }], target: TARGET },
  { id: "routine_notice", type: "routine_notice", scenario: null, stage: null, message: [{ kind: "prompt", name: "routine-notice" }], target: TARGET },
];
const iso = (ms: number) => new Date(ms).toISOString();

function progress(extra: Partial<Progress> = {}): Progress {
  return {
    total: 10, by_state: { queued: 10 }, by_outcome: {}, skipped: {}, dialled: 0, answered: 0,
    confirmed: 0, operator: 0, opted_out: 0, failed: 0, remaining: 10, done_last_10min: 0,
    estimated_finish: null, ...extra,
  };
}

function campaign(id: number, extra: Partial<Campaign> = {}): Campaign {
  const { spec } = toSpec({ ...newForm("routine_notice"), name: `Кампания ${id}` });
  return {
    id, state: "created", state_reason: null, state_since: iso(T0), spec, created_by: 1, created_at: iso(T0),
    started_at: null, finished_at: null, cloned_from: null, ...extra,
  };
}

function push(id: number, extra: Partial<CampaignPush> = {}): CampaignPush {
  return {
    id, name: `Кампания ${id}`, type: "routine_notice", state: "running", state_reason: null, state_since: iso(T0),
    progress: progress(), ...extra,
  };
}

beforeEach(() => {
  clearCampaigns();
  templates.value = TEMPLATES;
});

describe("the campaign list", () => {
  it("when the list arrives then it is shown newest first and campaigns gone from it leave", () => {
    applyList([campaign(1), campaign(3), campaign(2)]);
    expect(campaignsInOrder.value.map((v) => v.id)).toEqual([3, 2, 1]);
    applyList([campaign(3)]);
    expect(campaignsInOrder.value.map((v) => v.id)).toEqual([3]);
  });

  it("when the shown campaign is missing from a new list then it stays on the page", () => {
    applyList([campaign(1), campaign(2)]);
    selectedId.value = 1;
    applyList([campaign(2)]);
    expect([...campaigns.value.keys()].sort()).toEqual([1, 2]);
  });

  it("when a push comes then state and progress change and the spec is kept", () => {
    applyCampaign(campaign(5, { state: "running", started_at: iso(T0) }), T0 + 1000);
    applyPush(push(5, { progress: progress({ dialled: 3, answered: 2, confirmed: 1, remaining: 7 }) }), T0 + 5000);
    const v = campaigns.value.get(5)!;
    expect(v.progress?.dialled).toBe(3);
    expect(v.spec?.type).toBe("routine_notice");
    expect(v.state).toBe("running");
  });

  it("when a push is for a campaign not yet listed then it is added", () => {
    applyPush(push(9), T0);
    expect(campaigns.value.get(9)?.name).toBe("Кампания 9");
    expect(liveIds()).toEqual([9]);
  });
});

describe("pause and stop at once", () => {
  it("when pause is clicked then the page shows paused before the server answers", () => {
    applyCampaign(campaign(1, { state: "running", started_at: iso(T0) }), T0);
    const before = markPending(1, "pause", T0 + 1000);
    expect(before?.state).toBe("running");
    expect(campaigns.value.get(1)?.state).toBe("paused");
    expect(campaigns.value.get(1)?.pending).toBe("pause");
  });

  it("when a push from before the pause landed says running then the page still shows paused", () => {
    applyCampaign(campaign(1, { state: "running", started_at: iso(T0) }), T0);
    markPending(1, "stop", T0 + 1000);
    applyPush(push(1, { state: "running", progress: progress({ dialled: 4 }) }), T0 + 1500);
    const v = campaigns.value.get(1)!;
    expect(v.state).toBe("stopped");
    expect(v.progress?.dialled).toBe(4); // the figures still move
    applyFetched(campaign(1, { state: "running", started_at: iso(T0) }), T0 + 1600);
    expect(campaigns.value.get(1)?.state).toBe("stopped");
  });

  it("when the server reached a final state by itself meanwhile then the push shows it", () => {
    applyCampaign(campaign(1, { state: "running", started_at: iso(T0) }), T0);
    markPending(1, "pause", T0 + 1000);
    applyPush(push(1, { state: "finished", state_reason: "done" }), T0 + 1500);
    expect(campaigns.value.get(1)?.state).toBe("finished");
  });

  it("when the server answers then its state is the truth and nothing is pending", () => {
    applyCampaign(campaign(1, { state: "running", started_at: iso(T0) }), T0);
    markPending(1, "pause", T0 + 1000);
    expect(stateDate(campaigns.value.get(1)!)).toBe(iso(T0 + 1000)); // the click, until the server says
    settle(campaign(1, { state: "paused", state_reason: "by_person", state_since: iso(T0 + 1100), started_at: iso(T0) }), T0 + 1200);
    const v = campaigns.value.get(1)!;
    expect(v.pending).toBeNull();
    expect(v.state).toBe("paused");
    expect(v.stateReason).toBe("by_person");
    expect(stateDate(v)).toBe(iso(T0 + 1100)); // when the server paused it
  });

  it("when the server refuses then the old state comes back, keeping the newer figures", () => {
    applyCampaign(campaign(1, { state: "running", started_at: iso(T0) }), T0);
    const before = markPending(1, "pause", T0 + 1000)!;
    applyPush(push(1, { progress: progress({ dialled: 6 }) }), T0 + 1500);
    revert(before);
    const v = campaigns.value.get(1)!;
    expect(v.state).toBe("running");
    expect(v.pending).toBeNull();
    expect(v.progress?.dialled).toBe(6);
  });

  it("when start is clicked then the state waits for the server", () => {
    applyCampaign(campaign(1), T0);
    markPending(1, "start", T0 + 10);
    expect(campaigns.value.get(1)?.state).toBe("created");
  });
});

describe("the status date", () => {
  it("when the server names the state's date then the list shows it, from REST and from pushes", () => {
    applyList([campaign(1), campaign(2, { state: "paused", started_at: iso(T0 + 1), state_since: iso(T0 + 5) })], T0 + 60_000);
    expect(stateDate(campaigns.value.get(1)!)).toBe(iso(T0));
    expect(stateDate(campaigns.value.get(2)!)).toBe(iso(T0 + 5)); // paused then, not started
    applyPush(push(2, { state: "stopped", state_since: iso(T0 + 9) }), T0 + 70_000);
    expect(stateDate(campaigns.value.get(2)!)).toBe(iso(T0 + 9));
  });
});

describe("the list's counts", () => {
  it("when the list carries summaries then every row has counts without a request of its own", () => {
    const summary = { total: 9, dialled: 4, answered: 3, confirmed: 2, operator: 0, opted_out: 1, failed: 0, remaining: 5 };
    applyList([campaign(1, { state: "stopped", summary }), campaign(2)], T0);
    expect(counts(campaigns.value.get(1)!)).toEqual(summary);
    expect(counts(campaigns.value.get(2)!)).toBeNull();
    applyPush(push(1, { state: "stopped", progress: progress({ total: 9, dialled: 5 }) }), T0 + 10);
    expect(counts(campaigns.value.get(1)!)?.dialled).toBe(5); // the newer progress wins
  });
});

describe("the progress history", () => {
  it("when a running campaign first shows figures then its chart starts at zero at its start", () => {
    applyCampaign(campaign(1, { state: "running", started_at: iso(T0), progress: progress({ dialled: 2, remaining: 8 }) }), T0 + 10_000);
    const h = campaigns.value.get(1)!.history;
    expect(h.map((s) => [s.at, s.dialled])).toEqual([[T0, 0], [T0 + 10_000, 2]]);
  });

  it("when the same figures come again then no sample is added", () => {
    const p = progress({ dialled: 1 });
    const once = withSample([], p, T0);
    expect(withSample(once, p, T0 + 2000)).toBe(once);
    expect(withSample(once, progress({ dialled: 2 }), T0 + 2000)).toHaveLength(2);
  });

  it("when many samples come then only the newest are kept", () => {
    let h = withSample([], progress({ dialled: 0 }), T0);
    for (let i = 1; i <= HISTORY_KEPT + 20; i++) h = withSample(h, progress({ dialled: i }), T0 + i * 1000);
    expect(h).toHaveLength(HISTORY_KEPT);
    expect(h[h.length - 1].dialled).toBe(HISTORY_KEPT + 20);
  });
});

describe("the chart", () => {
  const sample = (at: number, dialled: number, answered = 0): Sample =>
    ({ at, total: 10, dialled, answered, confirmed: 0, failed: 0, remaining: 10 - dialled });

  it("when there are samples then each line has a point per sample, up to the total", () => {
    const d = progressData([sample(T0, 0), sample(T0 + 10_000, 10, 5)])!;
    expect(d.top).toBe(10);
    expect(d.x).toEqual([T0 / 1000, T0 / 1000 + 10]);
    expect(d.lines.dialled).toEqual([0, 10]);
    expect(d.lines.answered).toEqual([0, 5]);
    expect(d.spanMs).toBe(10_000);
    expect(progressColumns(d)).toEqual([d.x, [0, 10], [0, 5], [0, 0], [0, 0], [10, 10]]);
  });

  it("when time went on since the last change then the line runs flat to now", () => {
    const d = progressData([sample(T0, 2)], T0 + 5000)!;
    expect(d.x).toEqual([T0 / 1000, T0 / 1000 + 5]);
    expect(d.lines.dialled).toEqual([2, 2]);
    expect(d.range).toEqual([T0 / 1000, T0 / 1000 + 5]);
    expect(progressData([])).toBeNull();
  });

  it("when there is one sample and no clock then the time axis is still a second wide", () => {
    expect(progressData([sample(T0, 1)])!.range).toEqual([T0 / 1000, T0 / 1000 + 1]);
  });
});

describe("the new-campaign form", () => {
  it("when the debt template is filled then the spec has the scenario's stage, message and selection", () => {
    const form = { ...newForm("debt_stage_1"), name: " Долг, декабрь ", city: "Омск, Тара", minDebt: "1 000,50", apartmentFrom: "1", apartmentTo: "40" };
    const { spec, errors } = toSpec(form);
    expect(errors).toEqual({});
    expect(spec.name).toBe("Долг, декабрь");
    expect(spec.type).toBe("debt_reminder");
    expect(spec.scenario).toBe("debt");
    expect(spec.stage).toBe(1);
    expect(spec.message.map((p) => p.kind)).toEqual(["prompt", "amount", "prompt"]);
    expect(spec.target).toMatchObject({
      city: ["Омск", "Тара"], min_debt: "1000.50", min_months_overdue: 1, apartment_from: 1, apartment_to: 40,
      has_phone: true, account_status: ["active"],
    });
    expect(spec.pacing).toMatchObject({ mode: "agentless", max_channels: 30, calls_per_second: 5 });
    expect(spec.retries.busy).toEqual({ delay_minutes: 30, max_retries: 3 });
    expect(spec.options).toEqual({ confirm_key: "1", operator_key: null, opt_out_key: "9" });
  });

  it("when fields are wrong then each is named and nothing is sent", () => {
    const form = {
      ...newForm("outage_alert"), name: "", apartmentFrom: "9", apartmentTo: "3", minDebt: "abc",
      operatorKey: "9" as const, mode: "progressive" as const, windowStart: "20:00", windowEnd: "",
    };
    const { errors } = toSpec(form);
    expect(errors).toMatchObject({
      name: "required", apartmentTo: "apartmentRange", minDebt: "money", outageId: "outageNeeded",
      targetQueue: "queueForOperator", optOutKey: "keysDistinct", windowEnd: "windowBoth",
    });
  });

  it("when an outage alert names its outage then the spec carries it twice as the server wants", () => {
    const { spec, errors } = toSpec({ ...newForm("outage_alert"), name: "Отключение", outageId: "42", messageDate: "2026-12-05" });
    expect(errors).toEqual({});
    expect(spec.outage_id).toBe(42);
    expect(spec.target.outage_id).toBe(42);
    expect(spec.message).toEqual([{ kind: "prompt", name: "outage-alert" }, { kind: "address" }, { kind: "date", value: "2026-12-05" }]);
  });

  it("when the template changes then the debt conditions follow and the address stays", () => {
    const form = withTemplate({ ...newForm("debt_stage_1"), city: "Омск" }, "debt_stage_2");
    expect(form).toMatchObject({ template: "debt_stage_2", minMonths: "2", minDebt: "1000", city: "Омск" });
    expect(message(form)[0]).toEqual({ kind: "prompt", name: "debt-reminder-2" });
    expect(withTemplate(form, "routine_notice").minDebt).toBe("");
  });

  it("when the server's templates have not come then the form says so and makes no spec", () => {
    templates.value = [];
    const form = newForm();
    expect(form.template).toBe("");
    expect(toSpec({ ...form, name: "x" }).errors).toMatchObject({ template: "templateMissing" });
    templates.value = TEMPLATES;
    expect(newForm().template).toBe("debt_stage_1");
  });

  it("when money is typed the Russian way then it becomes the server's decimal", () => {
    expect(rubles("2 000,00")).toBe("2000.00");
    expect(rubles("1000.5")).toBe("1000.5");
    expect(rubles("1,234")).toBeNull();
  });
});

describe("polling when pushes do not come", () => {
  it("when the link is down then every live campaign and the shown one are polled", () => {
    expect(toPoll(false, [1, 2], 5, new Map(), T0)).toEqual([1, 2, 5]);
    expect(toPoll(false, [1, 2], 2, new Map(), T0)).toEqual([1, 2]);
  });

  it("when the link is up then only live campaigns quiet for a while are polled", () => {
    const heard = new Map([[1, T0 - 1000], [2, T0 - QUIET_MS]]);
    expect(toPoll(true, [1, 2, 3], 7, heard, T0)).toEqual([2, 3]);
  });
});
