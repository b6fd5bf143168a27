import { describe, expect, it } from "vitest";
import { creditCodeLabel, daysLeftLabel, daysLeftType, fenToWan, fenToYuan, formatDate, formatInstant, workOpen, yuanInputError } from "./format";

describe("dates", () => {
  it("shows deadlines as a person reads them", () => {
    expect(formatDate("2024-06-10")).toBe("2024年6月10日");
    expect(formatDate("2024-06-10", 2024)).toBe("6月10日");
    expect(formatDate(null)).toBe("—");
  });
  it("shows instants in China Standard Time", () => {
    expect(formatInstant("2024-06-01T02:00:00Z")).toBe("2024-06-01 10:00");
    expect(formatInstant("2024-06-01T16:30:00Z")).toBe("2024-06-02 00:30");
    expect(formatInstant(null)).toBe("从未");
  });
  it("counts days left, overdue in red", () => {
    expect(daysLeftLabel(5)).toBe("剩余5天");
    expect(daysLeftLabel(0)).toBe("今天截止");
    expect(daysLeftLabel(-2)).toBe("已逾期2天");
    expect(daysLeftLabel(null)).toBe("无期限");
    expect(daysLeftType(-1)).toBe("danger");
    expect(daysLeftType(3)).toBe("warning");
    expect(daysLeftType(10)).toBe("default");
  });
});

describe("money", () => {
  it("formats fen as 元 exactly", () => {
    expect(fenToYuan(500050)).toBe("5,000.50");
    expect(fenToYuan(1)).toBe("0.01");
    expect(fenToYuan(123456789)).toBe("1,234,567.89");
  });
  it("formats fen as 万元 like the summary tables (core's Fen::wan_yuan)", () => {
    expect(fenToWan(1_234_567)).toBe("1.234567");
    expect(fenToWan(500_000)).toBe("0.5000");
    expect(fenToWan(0)).toBe("0.0000");
    expect(fenToWan(150)).toBe("0.00015");
    expect(fenToWan(500_050)).toBe("0.50005");
  });
  it("checks typed amounts before sending", () => {
    expect(yuanInputError("5000")).toBeNull();
    expect(yuanInputError("5,000.50")).toBeNull();
    expect(yuanInputError("")).toBeNull();
    expect(yuanInputError("1.005")).not.toBeNull();
    expect(yuanInputError("五千")).not.toBeNull();
  });
});

describe("workOpen", () => {
  it("keeps the deadline only while the inspectors still owe work", () => {
    for (const s of ["assigned", "in_progress", "returned"]) expect(workOpen(s)).toBe(true);
    for (const s of ["submitted", "resubmitted", "approved", "unreachable"]) expect(workOpen(s)).toBe(false);
  });
});

describe("unit keys", () => {
  it("prints a unit without a credit code as 无, its ID masked", () => {
    expect(creditCodeLabel("91140106MA0K8C2X3Q")).toBe("91140106MA0K8C2X3Q");
    expect(creditCodeLabel("丽人美容店|迎泽区新建路1号|1401**********1234")).toBe("无（证件号码 1401**********1234）");
    expect(creditCodeLabel("某店|某路|")).toBe("无");
  });
});
