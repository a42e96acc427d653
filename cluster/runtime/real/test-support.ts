// Helpers for the real runtime's integration tests and benchmark (lesson 7, "a retry strategy
// for every interface function": the tests talk to nodes exactly as a client would, over HTTP).

import http from "node:http";

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpCall {
  method?: string;
  /** Sent as written: no normalization, no encoding. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: http.Agent;
  timeoutMs?: number;
}

/** One HTTP request to 127.0.0.1:port; rejects only on a network error or a timeout. */
export function httpCall(port: number, call: HttpCall): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        method: call.method ?? "GET",
        path: call.path,
        headers: call.headers ?? {},
        agent: call.agent ?? false,
        timeout: call.timeoutMs ?? 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () =>
      request.destroy(new Error(`no answer to ${call.method} ${call.path.slice(0, 80)}`)),
    );
    request.on("error", reject);
    request.end(call.body);
  });
}

export function keyPath(bucket: string, key: string, query = ""): string {
  return `/kv/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}${query === "" ? "" : `?${query}`}`;
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the items' order. */
export async function mapConcurrently<Item, Result>(
  items: readonly Item[],
  limit: number,
  work: (item: Item, index: number) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Polls `condition` until it holds; throws with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  condition: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The value of one series in Prometheus text, e.g. metricValue(text, 'neverstop_store_keys'). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labelText = match[2] ?? "";
    if (
      Object.entries(labels).every(([label, value]) => labelText.includes(`${label}="${value}"`))
    ) {
      return Number(match[3]);
    }
  }
  return undefined;
}
