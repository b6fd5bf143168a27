import { describe, expect, it } from "vitest";
import { cnNumber, fromPicker, hasErrors, hasRecordErrors, opinionErrors, recordErrors, toPicker } from "./opinion";

describe("监督意见", () => {
  it("numbers problems as the 意见书 prints them", () => {
    expect([1, 2, 3, 10, 11, 20, 21, 99].map(cnNumber)).toEqual(["一", "二", "三", "十", "十一", "二十", "二十一", "九十九"]);
  });
  it("names what is missing, in Chinese", () => {
    const input = {
      task_id: "t",
      problems: [
        { point: "med.5.1", item: "", text: "处方未签名", basis: "《处方管理办法》" },
        { point: null, item: "", text: " ", basis: "" },
      ],
      deadline: null,
      requirements: "",
    };
    const e = opinionErrors(input, "2025-06-12");
    expect(e.problems).toEqual(["", "第 2 条问题的内容不能为空"]);
    expect(e.deadline).toBe("请选择改正期限");
    expect(e.requirements).toBe("请填写改正要求");
    expect(hasErrors(e)).toBe(true);
    const early = opinionErrors({ ...input, problems: [input.problems[0]], deadline: "2025-06-11", requirements: "整改" }, "2025-06-12");
    expect(early.deadline).toBe("改正期限不能早于检查日期（2025-06-12）");
    const ok = opinionErrors({ ...input, problems: [input.problems[0]], deadline: "2025-06-27", requirements: "整改" }, "2025-06-12");
    expect(hasErrors(ok)).toBe(false);
    // No problem found: nothing to correct, nothing required.
    expect(hasErrors(opinionErrors({ ...input, problems: [] }, "2025-06-12"))).toBe(false);
  });
  it("converts the date picker's values", () => {
    expect(toPicker("2025-06-27", new Date())).toEqual(["2025", "06", "27"]);
    expect(toPicker(null, new Date(2025, 0, 5))).toEqual(["2025", "01", "05"]);
    expect(fromPicker(["2025", "6", "7"])).toBe("2025-06-07");
  });
});

describe("笔录信息", () => {
  it("requires a recorder, an answer on 回避, a reason for a request, name and post of each 在场人", () => {
    const e = recordErrors({ task_id: "t", recorder: "", recusal_requested: null, recusal_reason: "", present: [{ name: "王某", post: "" }] });
    expect(e.recorder).toBe("请选择记录人");
    expect(e.recusal).toBe("请选择当事人是否申请回避");
    expect(e.present).toEqual([["", "第 1 位在场人的职务不能为空"]]);
    const asked = recordErrors({ task_id: "t", recorder: "u", recusal_requested: true, recusal_reason: "", present: [] });
    expect(asked.reason).toBe("当事人申请回避时，请填写申请理由");
    const ok = recordErrors({ task_id: "t", recorder: "u", recusal_requested: false, recusal_reason: "", present: [{ name: "王某", post: "院长" }] });
    expect(hasRecordErrors(ok)).toBe(false);
  });
});
