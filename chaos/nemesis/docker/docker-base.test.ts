// Tests of the offline image builder and the engine helpers that need no engine (lesson 5,
// "systems that never stop"): ldd parsing, the staged root filesystem, Docker's log framing,
// tag checks and the one-line answers when no engine listens.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { demultiplex } from "./backend.ts";
import { buildBaseImage, checkTag, parseLddOutput, stageRootFilesystem } from "./docker-base.ts";
import { DockerUnavailableError, whyNoEngine } from "./engine.ts";

const lddOfNode = `	linux-vdso.so.1 (0x00007ffd8a1f2000)
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f4aa354c000)
	libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f4aa3200000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f4aa301e000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f4aa3564000)
`;

describe("docker-base", () => {
  it("reads every library path from ldd, the loader included and the vDSO left out", () => {
    expect(parseLddOutput(lddOfNode)).toEqual([
      "/lib/x86_64-linux-gnu/libdl.so.2",
      "/lib/x86_64-linux-gnu/libstdc++.so.6",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ]);
    expect(parseLddOutput("\tstatically linked\n")).toEqual([]);
    expect(parseLddOutput("\tnot a dynamic executable\n")).toEqual([]);
  });

  it("refuses a binary whose library is missing on this machine", () => {
    expect(() => parseLddOutput("\tlibfoo.so.1 => not found\n")).toThrow(
      "a shared library is missing on this machine: libfoo.so.1 => not found",
    );
  });

  it.skipIf(process.platform !== "linux")(
    "stages node, its libraries, /bin/sh and a world-writable /tmp",
    () => {
      const folder = mkdtempSync(join(tmpdir(), "neverstop-stage-test-"));
      try {
        const staged = stageRootFilesystem(folder, process.execPath);
        expect(staged.sizeBytes).toBeGreaterThanOrEqual(statSync(process.execPath).size);
        expect(statSync(join(folder, "usr/local/bin/node")).size).toBe(
          statSync(process.execPath).size,
        );
        expect(statSync(join(folder, "bin/sh")).isFile()).toBe(true);
        expect(statSync(join(folder, "tmp")).mode & 0o7777).toBe(0o1777);
        expect(statSync(join(folder, "etc/passwd")).isFile()).toBe(true);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  );

  it("checks image tags the way Docker reads them", () => {
    for (const good of ["neverstop-base:local", "neverstop", "registry/neverstop:1.0"]) {
      expect(() => checkTag(good)).not.toThrow();
    }
    for (const bad of ["Neverstop:local", "neverstop:", "-x", "a b"]) {
      expect(() => checkTag(bad)).toThrow(/Expected an image tag/);
    }
  });

  it("says in one line that no engine answers, and refuses to build", async () => {
    const nowhere = new Dockerode({ socketPath: join(tmpdir(), "neverstop-no-docker.sock") });
    const reason = await whyNoEngine(nowhere);
    expect(reason).toMatch(/^no Docker engine answers at .*ENOENT/);
    expect(reason).not.toContain("\n");
    const failure = await buildBaseImage({ docker: nowhere }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DockerUnavailableError);
    expect((failure as Error).message).not.toContain("\n");
  });
});

describe("docker log framing", () => {
  it("joins the payloads of stdout and stderr frames in order", () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const framed = Buffer.concat([frame(1, "ready\n"), frame(2, "warn\n"), frame(1, "bye\n")]);
    expect(demultiplex(framed)).toBe("ready\nwarn\nbye\n");
    expect(demultiplex(Buffer.from("plain text from a terminal\n"))).toBe(
      "plain text from a terminal\n",
    );
  });
});
