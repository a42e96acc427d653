// Tests for reading sync policies as text and opening a node's store (lesson 5).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatSyncPolicy, nodeDataFolder, openNodeStore, parseSyncPolicy } from "./open-store.ts";

describe("parseSyncPolicy", () => {
  it.each([
    ["always", { kind: "always" }],
    ["never", { kind: "never" }],
    ["interval", { kind: "interval", intervalMs: 100 }],
    ["interval:250", { kind: "interval", intervalMs: 250 }],
  ])("reads %s", (text, policy) => {
    expect(parseSyncPolicy(text)).toEqual(policy);
    expect(parseSyncPolicy(formatSyncPolicy(parseSyncPolicy(text)))).toEqual(policy);
  });

  it.each([
    "sometimes",
    "interval:",
    "interval:-5",
    "interval:1.5",
    "always:3",
    "interval:10:2",
    "",
  ])("refuses %j with one line", (text) => {
    expect(() => parseSyncPolicy(text)).toThrow(
      /^Expected a sync policy of always, interval, never or interval:MS/,
    );
  });

  it("refuses an interval past the limit", () => {
    expect(() => parseSyncPolicy("interval:3600001")).toThrow(/from 1 to 3600000, got 3600001/);
  });
});

describe("openNodeStore", () => {
  it("opens <root>/<node>/data with a policy given as text", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-root-"));
    try {
      const store = openNodeStore({ root, nodeId: "n1", syncPolicy: "interval:50" });
      store.put("k", "v");
      store.close();
      expect(fs.readdirSync(path.join(root, "n1", "data"))).toContain("000001.data");
      expect(() => nodeDataFolder(root, "../escape")).toThrow(/letters, digits/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
