import { describe, expect, it } from "vitest";
import { date, decimal, duration, money, percent, period, phone, plainNumber, time } from "./format";

const sp = (s: string) => s.replace(/\u00a0/g, " ");

describe("money", () => {
  it("groups thousands with a space and writes kopecks after a comma", () => {
    expect(sp(money("36201.67"))).toBe("36 201,67");
    expect(sp(money("1234567.00"))).toBe("1 234 567,00");
    expect(money("0.00")).toBe("0,00");
    expect(money("15")).toBe("15,00");
  });
  it("keeps every digit (no float on the way) and marks debts owed back", () => {
    expect(sp(money("90071992547409931.99"))).toBe("90 071 992 547 409 931,99");
    expect(money("-5.5")).toBe("\u22125,50");
  });
  it("shows nothing for nothing", () => {
    expect(money(null)).toBe("");
  });
});

describe("dates and times", () => {
  it("writes a bare date as day.month.year without shifting it", () => {
    expect(date("2025-10-22")).toBe("22.10.2025");
    expect(period("2025-10-01")).toBe("10.2025");
  });
  it("writes a timestamp's local time as hours:minutes", () => {
    const local = new Date(2025, 9, 22, 17, 23, 5).toISOString();
    expect(time(local)).toBe("17:23");
    expect(time(local, true)).toBe("17:23:05");
    expect(date(local)).toBe("22.10.2025");
  });
  it("counts durations in minutes and seconds, hours when needed", () => {
    expect(duration(65)).toBe("1:05");
    expect(duration(3723)).toBe("1:02:03");
    expect(duration(-3)).toBe("0:00");
  });
});

describe("numbers", () => {
  it("writes readings with a decimal comma and phones in groups", () => {
    expect(sp(decimal("12345.6"))).toBe("12 345,6");
    expect(phone("+79121234567")).toBe("+7 912 123-45-67");
    expect(phone("100")).toBe("100");
  });
});

describe("shares", () => {
  it("writes a share as a percentage with a decimal comma, one decimal at most", () => {
    expect(sp(percent(0.875))).toBe("87,5 %");
    expect(sp(percent(1))).toBe("100 %");
    expect(sp(percent(2 / 3))).toBe("66,7 %");
    expect(percent(null)).toBe("");
    expect(plainNumber(5)).toBe("5");
    expect(plainNumber(2.5)).toBe("2,5");
  });
});
