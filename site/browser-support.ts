// What the course site's browser test and its benchmark share (lesson pages, player, labs in
// the page): where Debian's Chromium is and the flags it runs headless with on these machines,
// and a static file server for a built site on 127.0.0.1.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readSiteFile } from "./server/static-files.ts";

export const chromiumPath = process.env["NEVERSTOP_CHROMIUM"] ?? "/usr/bin/chromium";
export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];

/** A static file server for `directory` on 127.0.0.1 and a free port; GET only, no escapes. */
export async function serveDirectory(
  directory: string,
): Promise<{ server: Server; origin: string }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    if (request.method !== "GET") {
      response.writeHead(404).end();
      return;
    }
    void readSiteFile(directory, pathname, "index.html").then((found) => {
      if (found === undefined) response.writeHead(404).end();
      else response.writeHead(200, { "content-type": found.contentType }).end(found.body);
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}
