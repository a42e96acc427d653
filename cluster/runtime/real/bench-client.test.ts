// bench:overload's HTTP client (bench-client.ts, lesson 9) against a real server on a free
// port: what it makes of an answer decides whether the benchmark counts it accepted, refused
// with Retry-After, or failed.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchConnectionPool } from "./bench-client.ts";

describe("BenchConnectionPool", () => {
  let server: http.Server;
  let pool: BenchConnectionPool;
  const bodies: string[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      request.on("end", () => {
        bodies.push(`${request.method} ${request.url} ${body}`);
        const answer = (status: number, headers: Record<string, string>, text: string) => {
          response.writeHead(status, headers);
          response.end(text);
        };
        if (request.url === "/refused") {
          answer(503, { "Retry-After": "1" }, JSON.stringify({ error: "overload" }));
        } else if (request.url === "/refused-bare") {
          answer(503, {}, JSON.stringify({ error: "overload" }));
        } else if (request.url === "/unavailable") {
          answer(503, { "retry-after": "1" }, JSON.stringify({ error: "unavailable" }));
        } else if (request.url === "/with-context") {
          const sent = request.headers["x-neverstop-context"] ?? "none";
          answer(204, { "X-Neverstop-Context": `after-${String(sent)}` }, "");
        } else if (request.url === "/missing") {
          answer(404, {}, JSON.stringify({ error: "not_found" }));
        } else {
          answer(204, {}, "");
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    pool = new BenchConnectionPool((server.address() as AddressInfo).port, 2, 5_000, 10);
    await pool.connect();
  });

  afterAll(async () => {
    pool.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("tells a refusal with Retry-After from other answers", async () => {
    const ok = { status: 204, overloadRefusal: false, retryAfter: false };
    expect(await pool.request("PUT", "/kv/b/k", "1")).toEqual(ok);
    expect(await pool.request("GET", "/refused", undefined)).toEqual({
      status: 503,
      overloadRefusal: true,
      retryAfter: true,
    });
    expect(await pool.request("GET", "/refused-bare", undefined)).toEqual({
      status: 503,
      overloadRefusal: true,
      retryAfter: false,
    });
    expect(await pool.request("GET", "/unavailable", undefined)).toEqual({
      status: 503,
      overloadRefusal: false,
      retryAfter: true,
    });
    expect((await pool.request("GET", "/missing", undefined)).status).toBe(404);
    expect(bodies).toContain("PUT /kv/b/k 1");
  });

  it("sends the headers it is given and hands back the answer's context", async () => {
    const first = await pool.request("PUT", "/with-context", "1");
    expect(first.context).toBe("after-none");
    const second = await pool.request("PUT", "/with-context", "2", {
      "x-neverstop-context": first.context!,
    });
    expect(second.context).toBe("after-after-none");
    expect(bodies).toContain("PUT /with-context 2");
  });

  it("fails at once past its queue, and still answers the requests it took", async () => {
    const requests = Array.from({ length: 13 }, () =>
      pool.request("GET", "/kv/b/k", undefined).then(
        (answer) => answer.status,
        (error: Error) => error.message,
      ),
    );
    const outcomes = await Promise.all(requests);
    expect(outcomes.filter((outcome) => outcome === 204)).toHaveLength(12); // 2 + 10 queued
    expect(outcomes).toContain("the client's queue is full");
  });
});
