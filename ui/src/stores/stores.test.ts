import { beforeEach, describe, expect, it, vi } from "vitest";
import { createPinia, setActivePinia } from "pinia";

// The stores talk to the backend only through api.ts; here it is replaced by a fake
// that records calls, so the tests check what the stores send and keep.
const calls: { command: string; args: unknown }[] = [];
const listReply = {
  tasks: [
    { task_id: "a", plan_title: "计划甲", category_name: "医院", unit_name: "县人民医院" },
    { task_id: "b", plan_title: "计划甲", category_name: "诊所", unit_name: "仁和诊所" },
    { task_id: "c", plan_title: "计划甲", category_name: "医院", unit_name: "县中医院" },
  ],
  total: 3,
  counts: { todo: 3, in_progress: 0, awaiting_review: 0, returned: 0, approved: 0 },
  plans: [],
  sync: { online: false, last_sync_at: null, pending_changes: 4 },
};
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn(async (command: string, args: unknown) => {
    calls.push({ command, args });
    if (command === "task_list") return listReply;
    if (command === "startup") return { profile: null, version: "0.1.0" };
    if (command === "sign_in") throw { code: "server_unavailable", message: "本版本尚不能向服务器登记本机" };
    const lock = (state: string, failures = 0) => ({ state, failures, remaining: 10 - failures, wait_ms: 0, idle_minutes: 5 });
    if (command === "lock_state") return lock("locked", 1);
    if (command === "set_pin") return lock("open");
    if (command === "sync_badge") return listReply.sync;
    if (command === "set_online") return null;
    if (command === "unlock") {
      if ((args as { pin: string }).pin === "246810") return lock("open");
      throw { code: "wrong_pin", message: "PIN 码错误，还可尝试 9 次" };
    }
    throw new Error("unexpected");
  }),
}));

import { cleanQuery, useTasks } from "./tasks";
import { useSession } from "./session";

beforeEach(() => {
  setActivePinia(createPinia());
  calls.length = 0;
});

describe("task list store", () => {
  it("sends only real filters", () => {
    expect(cleanQuery({ search: "  ", status: undefined, plan_id: "", followup_only: false })).toEqual({});
    expect(cleanQuery({ search: " 卫生院 ", status: "todo" })).toEqual({ search: "卫生院", status: "todo" });
  });
  it("queries the backend and groups by plan and category", async () => {
    const tasks = useTasks();
    await tasks.setQuery({ search: "县" });
    expect(calls).toEqual([{ command: "task_list", args: { query: { search: "县" } } }]);
    expect(tasks.groups.map((g) => [g.category, g.tasks.length])).toEqual([
      ["医院", 2],
      ["诊所", 1],
    ]);
    expect(useSession().sync?.pending_changes).toBe(4);
  });
});

describe("session store", () => {
  it("starts without a profile and passes backend errors on as {code, message}", async () => {
    const session = useSession();
    await session.load();
    expect(session.profile).toBeNull();
    await expect(session.signIn({ server_url: "https://x", username: "u", password: "p" })).rejects.toEqual({
      code: "server_unavailable",
      message: "本版本尚不能向服务器登记本机",
    });
    // The bureau's CA certificate (首次设置) travels with the sign-in.
    await expect(
      session.signIn({ server_url: "https://x", username: "u", password: "p" }, "-----BEGIN CERTIFICATE-----"),
    ).rejects.toMatchObject({ code: "server_unavailable" });
    expect(calls.filter((c) => c.command === "sign_in").map((c) => (c.args as { caCert: string | null }).caCert)).toEqual([
      null,
      "-----BEGIN CERTIFICATE-----",
    ]);
  });

  it("forgets who was signed in when the platform declared the device lost", async () => {
    const session = useSession();
    session.profile = { user_id: "u", username: "u", display_name: "张伟", role: "inspector", badge_no: "", server_url: "https://x", demo: false };
    await session.afterLost();
    expect(session.profile).toBeNull();
    expect(session.sync).toBeNull();
    expect(calls.some((c) => c.command === "lock_state")).toBe(true);
  });
});

describe("app lock", () => {
  it("is open only once the PIN is set or entered; a wrong PIN re-reads where the lock stands", async () => {
    const session = useSession();
    session.profile = { user_id: "u", username: "u", display_name: "张伟", role: "inspector", badge_no: "", server_url: "demo", demo: true };
    session.lock = { state: "set_pin", failures: 0, remaining: 10, wait_ms: 0, idle_minutes: 5, notice: null };
    expect(session.open).toBe(false);
    await session.setPin("246810");
    expect(calls.find((c) => c.command === "set_pin")?.args).toEqual({ pin: "246810" });
    expect(session.open).toBe(true);
    session.lock = { state: "locked", failures: 0, remaining: 10, wait_ms: 0, idle_minutes: 5, notice: null };
    await expect(session.unlock("000000")).rejects.toMatchObject({ code: "wrong_pin" });
    expect(session.lock?.failures).toBe(1);
    expect(session.open).toBe(false);
    await session.unlock("246810");
    expect(session.open).toBe(true);
  });
});
