import { beforeEach, describe, expect, it, vi } from "vitest";
import { createPinia, setActivePinia } from "pinia";
import { formatBytes, pendingSummary, uploadPercent } from "../format";

// The store talks to the backend only through api.ts; invoke is replaced by a fake
// that answers the sync commands and records what was sent.
const calls: string[] = [];
const status = {
  demo: false,
  server_url: "http://127.0.0.1:8080",
  online: true,
  running: false,
  last_sync_at: null,
  last_error: null,
  revoked: null,
  pending_changes: 3,
  photos_left: 2,
  bytes_left: 6 * 1024 * 1024,
  bytes_done: 0,
  conflicts: 1,
};
const conflict = {
  id: 7,
  task_id: "t1",
  unit_name: "城关镇卫生院",
  change: "亮证（开始检查）",
  reason: "stale",
  reason_label: "服务器上的记录已变化",
  message: "另一台设备已开始该任务的检查",
  at: "2025-05-12T01:30:00Z",
  server_status_label: "检查中",
  server_version: 2,
  server_review_comment: null,
  server_outcome_label: null,
  resolved: false,
};
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn(async (command: string) => {
    calls.push(command);
    if (command === "sync_status") return { ...status };
    if (command === "conflicts") return [{ ...conflict }];
    if (command === "sync_badge") return { online: true, last_sync_at: null, pending_changes: 0 };
    if (command === "sync_now" || command === "resolve_conflict") return null;
    throw new Error(`unexpected ${command}`);
  }),
}));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn(async () => () => {}) }));

import { useSync } from "./sync";
import { useSession } from "./session";
import type { SyncEventView } from "../bindings/SyncEventView";

function event(patch: Partial<SyncEventView>): SyncEventView {
  return {
    event: "progress",
    phase: null,
    items_left: 0,
    items_done: 0,
    photos_left: 0,
    bytes_left: 0,
    bytes_done: 0,
    changes_pulled: 0,
    conflicts: 0,
    message: null,
    ...patch,
  };
}

beforeEach(() => {
  setActivePinia(createPinia());
  calls.length = 0;
});

describe("bytes and progress formatting", () => {
  it("formats bytes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
    expect(formatBytes(120 * 3 * 1024 * 1024)).toBe("360.0 MB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.0 GB");
    expect(formatBytes(null)).toBe("0 B");
    expect(formatBytes(-5)).toBe("0 B");
  });
  it("never shows 100% while bytes are left", () => {
    expect(uploadPercent(0, 0)).toBe(100);
    expect(uploadPercent(5, 0)).toBe(100);
    expect(uploadPercent(0, 10)).toBe(0);
    expect(uploadPercent(1, 3)).toBe(25);
    expect(uploadPercent(999_999, 1)).toBe(99);
  });
  it("summarises what waits on the device", () => {
    expect(pendingSummary(0, 0, 0)).toBe("全部已上传");
    expect(pendingSummary(3, 0, 0)).toBe("待上传：3 项修改");
    expect(pendingSummary(3, 2, 6 * 1024 * 1024)).toBe("待上传：3 项修改，2 张照片（6.0 MB）");
  });
});

describe("sync store", () => {
  it("loads the panel and the rejected edits", async () => {
    const sync = useSync();
    await sync.refresh();
    expect(calls).toEqual(["sync_status", "conflicts"]);
    expect(sync.status?.pending_changes).toBe(3);
    expect(sync.conflicts[0].server_version).toBe(2);
  });

  it("drives the progress bar from events and ticks when changes arrived", async () => {
    const sync = useSync();
    await sync.refresh();
    sync.apply(event({ event: "started" }));
    expect(sync.running).toBe(true);
    sync.apply(event({ phase: "photos", items_left: 0, photos_left: 1, bytes_left: 3 * 1024 * 1024, bytes_done: 3 * 1024 * 1024 }));
    expect(sync.phaseLabel).toBe("正在上传照片");
    expect(sync.photoPercent).toBe(50);
    expect(sync.status?.pending_changes).toBe(0);
    expect(sync.pulledTick).toBe(0);
    sync.apply(event({ event: "finished", changes_pulled: 4, conflicts: 1 }));
    expect(sync.running).toBe(false);
    expect(sync.pulledTick).toBe(1);
    expect(sync.status?.online).toBe(true);
    // A finished sync that brought nothing does not reload the list.
    sync.apply(event({ event: "finished", changes_pulled: 0 }));
    expect(sync.pulledTick).toBe(1);
  });

  it("keeps the failure for the panel and refreshes the badge", async () => {
    const sync = useSync();
    const session = useSession();
    await sync.refresh();
    sync.apply(event({ event: "failed", message: "无法连接服务器，修改已保存在本机，联网后自动上传" }));
    expect(sync.status?.last_error).toContain("无法连接服务器");
    expect(sync.status?.running).toBe(false);
    await vi.waitFor(() => expect(session.sync?.online).toBe(true));
    expect(calls).toContain("sync_badge");
  });

  it("sends 立即同步 and marks a conflict as read", async () => {
    const sync = useSync();
    await sync.refresh();
    await sync.syncNow();
    expect(sync.running).toBe(true);
    await sync.resolve(7);
    expect(calls).toContain("resolve_conflict");
    expect(sync.conflicts).toEqual([]);
    expect(sync.status?.conflicts).toBe(0);
  });
});
