import { describe, expect, it } from "vitest";
import { dataUrlBytes, formatBytes } from "./evidenceApi";

describe("evidence helpers", () => {
  it("reads the PNG bytes of a signature's data URL", () => {
    // The 8-byte PNG signature, base64.
    const bytes = dataUrlBytes("data:image/png;base64,iVBORw0KGgo=");
    expect(Array.from(bytes)).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
  it("shows file sizes as a person reads them", () => {
    expect(formatBytes(4_200_000)).toBe("4.0 MB");
    expect(formatBytes(350 * 1024)).toBe("350 KB");
    expect(formatBytes(10)).toBe("1 KB");
  });
});
