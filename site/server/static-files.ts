// The built course site's files, served from one folder on 127.0.0.1 (lesson 10, "monitoring":
// the dashboard `npm start` serves, and the browser test's own server). One place decides which
// file a request path names, that it stays inside the folder, and its content type.
//
// Worked example: in /site/dist, "/ring.html" is /site/dist/ring.html (text/html), "/" is the
// index file given, and "/../secret" resolves outside the folder, so it is no file at all.

import { readFile } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** The file `pathname` names in `directory` with its type, or undefined when the path leaves the
 * folder or no such file can be read. */
export async function readSiteFile(
  directory: string,
  pathname: string,
  indexFile: string,
): Promise<{ body: Buffer; contentType: string } | undefined> {
  const file = resolve(directory, `.${pathname === "/" ? `/${indexFile}` : pathname}`);
  if (!file.startsWith(directory + sep)) return undefined;
  try {
    const body = await readFile(file);
    return { body, contentType: contentTypes[extname(file)] ?? "application/octet-stream" };
  } catch {
    return undefined;
  }
}
