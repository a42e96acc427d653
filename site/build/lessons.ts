// Lesson pages, rendered at build time (every lesson): each labs/NN-topic/README.md becomes
// lessons/NN-topic.html, plain HTML that reads well with JavaScript off, with code highlighted
// here (highlight.js, on the build machine), every heading an anchor, a table of contents, and
// previous/next links. A fenced block whose language is `neverstop-widget` becomes a place for
// a live widget, which src/lesson.ts fills in the browser:
//
//   ```neverstop-widget ring```                      the ring explorer
//   ```neverstop-widget player scenario=partition``` the simulation player on one scenario
//   ```neverstop-widget lab 03```                    lab 03's starter, graded in the page
//
// Without JavaScript the place says what would be there and links to the full page.
// vite.config.ts calls `writeSitePages` before Vite bundles, so `npm run site:build` needs no
// other step. Node only (files); nothing here ships to the browser.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import json from "highlight.js/lib/languages/json";
import shell from "highlight.js/lib/languages/shell";
import typescript from "highlight.js/lib/languages/typescript";
import { Marked, type Tokens } from "marked";
import { escapeHtml } from "../../chaos/checkers/report.ts";

hljs.registerLanguage("typescript", typescript);
hljs.registerLanguage("ts", typescript);
hljs.registerLanguage("javascript", typescript);
hljs.registerLanguage("js", typescript);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("sh", bash);
hljs.registerLanguage("shell", shell);
hljs.registerLanguage("console", shell);
hljs.registerLanguage("json", json);

/** A lesson's folder name: two digits, a dash, the topic ("03-network-splits"). */
const lessonFolderPattern = /^(\d\d)-[a-z0-9-]+$/;
const lessonCountMax = 100;
const markdownLengthMax = 1_000_000;

export interface LessonSource {
  /** The folder name, also the page's name: "03-network-splits". */
  id: string;
  /** The lab number, "03". */
  number: string;
  markdown: string;
  /** The lab has a starter/ file, so the page can grade it. */
  hasStarter?: boolean;
}

export interface WidgetSpec {
  kind: "ring" | "player" | "lab";
  /** Positional words and key=value pairs after the kind: `lab 03` has positional ["03"]. */
  positional: string[];
  options: Record<string, string>;
}

export interface RenderedLesson {
  id: string;
  number: string;
  title: string;
  bodyHtml: string;
  toc: { level: number; id: string; text: string }[];
  widgets: WidgetSpec[];
}

/** The lessons under `labsDirectory`, in folder order; none when the folder is absent. */
export function findLessons(labsDirectory: string): LessonSource[] {
  if (!existsSync(labsDirectory)) return [];
  const folders = readdirSync(labsDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && lessonFolderPattern.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .slice(0, lessonCountMax);
  return folders.flatMap((id) => {
    const file = join(labsDirectory, id, "README.md");
    if (!existsSync(file)) return [];
    const markdown = readFileSync(file, "utf8");
    if (markdown.length > markdownLengthMax) {
      throw new Error(`Expected ${file} to be at most ${markdownLengthMax} characters`);
    }
    const hasStarter = existsSync(join(labsDirectory, id, "starter"));
    return [{ id, number: id.slice(0, 2), markdown, hasStarter }];
  });
}

/** A heading's anchor: lower case, words joined by dashes ("03b: No add is lost" -> "03b-no-add-is-lost"). */
export function slug(text: string): string {
  const words = text
    .toLowerCase()
    .replace(/<[^>]*>/g, "")
    .replace(/&[a-z#0-9]+;/g, "")
    .match(/[\p{L}\p{N}]+/gu);
  return (words ?? ["section"]).join("-").slice(0, 80);
}

/** Parses a widget block's words: "player scenario=partition seed=7" or "lab 03". */
export function parseWidget(spec: string): WidgetSpec | string {
  const [kind, ...rest] = spec.trim().split(/\s+/);
  if (kind !== "ring" && kind !== "player" && kind !== "lab") {
    return `Expected a widget among ring, player, lab, got ${JSON.stringify(kind ?? "")}`;
  }
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (const word of rest) {
    const equals = word.indexOf("=");
    if (equals > 0) options[word.slice(0, equals)] = word.slice(equals + 1);
    else positional.push(word);
  }
  return { kind, positional, options };
}

const widgetFallback: Record<WidgetSpec["kind"], (spec: WidgetSpec) => string> = {
  ring: () =>
    'The ring explorer runs here with JavaScript on. <a href="../ring.html">Open the ring explorer</a>.',
  player: (spec) =>
    `The simulation player runs here with JavaScript on. <a href="../player.html?scenario=${encodeURIComponent(spec.options["scenario"] ?? "partition")}">Open the player</a>.`,
  lab: (spec) =>
    `Lab ${escapeHtml(spec.positional[0] ?? "")} is graded here with JavaScript on; without it, run <code>npx neverstop lab ${escapeHtml(spec.positional[0] ?? "")}</code>.`,
};

function highlight(code: string, language: string): string {
  const known = language !== "" && hljs.getLanguage(language) !== undefined;
  if (!known) return escapeHtml(code);
  return hljs.highlight(code, { language, ignoreIllegals: true }).value;
}

/** Links between lessons point at their pages: "../04-ring/README.md#x" -> "04-ring.html#x". */
function rewriteHref(href: string): string {
  const match = /^(?:\.\.\/)?(\d\d-[a-z0-9-]+)\/README\.md(#.*)?$/.exec(href);
  return match === null ? href : `${match[1]}.html${match[2] ?? ""}`;
}

/** The widgets a lesson shows even when its README names none: the lab itself, graded in the
 * page, and the tool its lesson is about (lesson 3's split, lesson 4's ring, lesson 5's crash). */
const lessonTools: Record<string, string[]> = {
  "03": ["player scenario=partition"],
  "04": ["ring"],
  "05": ["player scenario=crash"],
  "06": ["player scenario=partition"],
};

function tryItHere(
  source: LessonSource,
  widgets: readonly WidgetSpec[],
  widgetPlace: (spec: string) => string,
): string {
  const wanted = [...(lessonTools[source.number] ?? [])];
  if (source.hasStarter === true) wanted.push(`lab ${source.number}`);
  const missing = wanted.filter((spec) => {
    const parsed = parseWidget(spec);
    return typeof parsed !== "string" && !widgets.some((widget) => widget.kind === parsed.kind);
  });
  if (missing.length === 0) return "";
  return `<h2 id="try-it-here">Try it here <a class="anchor" href="#try-it-here" aria-label="Link to this section">#</a></h2>\n${missing.map(widgetPlace).join("")}`;
}

/** Renders one lesson's Markdown: the body, its headings for the contents, its widgets. */
export function renderLesson(source: LessonSource): RenderedLesson {
  const toc: RenderedLesson["toc"] = [];
  const widgets: WidgetSpec[] = [];
  const used = new Map<string, number>();
  let title = "";
  const widgetPlace = (spec: string): string => {
    const parsed = parseWidget(spec);
    if (typeof parsed === "string") throw new Error(`${source.id}/README.md: ${parsed}`);
    widgets.push(parsed);
    const data = escapeHtml(JSON.stringify(parsed));
    return `<figure class="widget" data-widget="${parsed.kind}" data-spec="${data}"><p class="widget-fallback">${widgetFallback[parsed.kind](parsed)}</p></figure>\n`;
  };
  const marked = new Marked({
    gfm: true,
    renderer: {
      heading(
        this: { parser: { parseInline: (tokens: Tokens.Generic[]) => string } },
        token: Tokens.Heading,
      ) {
        const inner = this.parser.parseInline(token.tokens);
        const base = slug(inner);
        const count = used.get(base) ?? 0;
        used.set(base, count + 1);
        const id = count === 0 ? base : `${base}-${count}`;
        if (token.depth === 1 && title === "") title = token.text;
        if (token.depth === 2 || token.depth === 3)
          toc.push({ level: token.depth, id, text: inner });
        return `<h${token.depth} id="${id}">${inner} <a class="anchor" href="#${id}" aria-label="Link to this section">#</a></h${token.depth}>\n`;
      },
      // A line that is only ```neverstop-widget ring``` is, in Markdown, inline code alone in
      // a paragraph: it is a widget too.
      paragraph(
        this: { parser: { parseInline: (tokens: Tokens.Generic[]) => string } },
        token: Tokens.Paragraph,
      ) {
        const only = token.tokens.length === 1 ? token.tokens[0] : undefined;
        if (only?.type === "codespan" && /^neverstop-widget\s/.test(only.text)) {
          return widgetPlace(only.text.slice("neverstop-widget".length));
        }
        return `<p>${this.parser.parseInline(token.tokens)}</p>\n`;
      },
      code(token: Tokens.Code) {
        const info = (token.lang ?? "").trim();
        const [language = "", ...infoRest] = info.split(/\s+/);
        if (language === "neverstop-widget")
          return widgetPlace(`${infoRest.join(" ")} ${token.text}`);
        // A long line makes the block scroll sideways: tabindex lets a keyboard reach and scroll it.
        return `<pre tabindex="0"><code class="hljs language-${escapeHtml(language || "text")}">${highlight(token.text, language)}</code></pre>\n`;
      },
      link(
        this: { parser: { parseInline: (tokens: Tokens.Generic[]) => string } },
        token: Tokens.Link,
      ) {
        const inner = this.parser.parseInline(token.tokens);
        const titleAttribute = token.title ? ` title="${escapeHtml(token.title)}"` : "";
        return `<a href="${escapeHtml(rewriteHref(token.href))}"${titleAttribute}>${inner}</a>`;
      },
      // Raw HTML in a README is shown as text: lessons are Markdown, and the page stays ours.
      html(token: Tokens.HTML | Tokens.Tag) {
        return escapeHtml(token.text);
      },
    },
  });
  const parsed = marked.parse(source.markdown, { async: false });
  const extra = tryItHere(source, widgets, widgetPlace);
  if (extra !== "") toc.push({ level: 2, id: "try-it-here", text: "Try it here" });
  const bodyHtml = parsed + extra;
  return {
    id: source.id,
    number: source.number,
    title: title || source.id,
    bodyHtml,
    toc,
    widgets,
  };
}

export interface PageLink {
  href: string;
  title: string;
}

/** The navigation every page shares; `prefix` is "" at the top and "../" in lessons/. */
export function siteHeader(prefix: string, current: string): string {
  const links: [string, string][] = [
    ["index.html", "Lessons"],
    ["ring.html", "Ring explorer"],
    ["player.html", "Simulation player"],
    ["viewer.html", "Report viewer"],
    ["lab.html", "Labs"],
    ["dashboard.html", "Dashboard"],
  ];
  const items = links
    .map(([href, text]) => {
      const here = href === current ? ' aria-current="page"' : "";
      return `<li><a href="${prefix}${href}"${here}>${text}</a></li>`;
    })
    .join("");
  return `<header class="site"><a class="brand" href="${prefix}index.html">neverstop</a><nav aria-label="Site"><ul>${items}</ul></nav></header>`;
}

/** A whole lesson page. */
export function lessonPage(lesson: RenderedLesson, previous?: PageLink, next?: PageLink): string {
  const toc = lesson.toc
    .map(
      (entry) =>
        `<li class="toc-${entry.level}"><a href="#${entry.id}">${entry.text.replace(/<a [^>]*>|<\/a>/g, "")}</a></li>`,
    )
    .join("\n");
  const pager = [
    previous === undefined
      ? "<span></span>"
      : `<a rel="prev" href="${previous.href}">← ${escapeHtml(previous.title)}</a>`,
    next === undefined
      ? "<span></span>"
      : `<a rel="next" href="${next.href}">${escapeHtml(next.title)} →</a>`,
  ].join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(lesson.title)} · neverstop</title>
<link rel="stylesheet" href="../src/style.css">
</head>
<body class="lesson" data-lesson="${escapeHtml(lesson.id)}" data-lab="${escapeHtml(lesson.number)}">
${siteHeader("../", "")}
<div class="lesson-layout">
<nav class="toc" aria-label="Contents of this lesson"><h2>Contents</h2><ol>
${toc}
</ol></nav>
<main id="main">
<article>
${lesson.bodyHtml}
</article>
<p class="progress-control"><label><input type="checkbox" id="lesson-done" disabled> I have finished this lesson</label></p>
<nav class="pager" aria-label="Previous and next lesson">${pager}</nav>
</main>
</div>
<script type="module" src="../src/lesson.ts"></script>
</body>
</html>
`;
}

/** The course's front page: every lesson in order, with progress filled in by src/home.ts. */
export function indexPage(lessons: readonly RenderedLesson[]): string {
  const items = lessons
    .map(
      (lesson) =>
        `<li data-lesson="${escapeHtml(lesson.id)}"><a href="lessons/${lesson.id}.html">${escapeHtml(lesson.title)}</a> <span class="status"></span></li>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>neverstop: a course in systems that never stop</title>
<link rel="stylesheet" href="./src/style.css">
</head>
<body>
${siteHeader("", "index.html")}
<main id="main">
<h1>neverstop: systems that never stop</h1>
<p>A Dynamo-style key-value cluster you can run, break and fix, in twelve lessons that follow
Francesco Cesarini's talk "Designing for Scalability with Erlang/OTP". Every lesson runs in
this page on the deterministic simulator, and on your machine with <code>npx neverstop</code>.</p>
<h2>Lessons</h2>
<ol class="lessons">
${items || "<li>No lessons were found at build time.</li>"}
</ol>
<p id="progress-summary"></p>
<h2>Tools</h2>
<ul>
<li><a href="ring.html">Ring explorer</a>: a key's hash, partition, vnode, node and preference list.</li>
<li><a href="player.html">Simulation player</a>: play, pause, seek and break a simulated cluster.</li>
<li><a href="viewer.html">Report viewer</a>: open a run's history.jsonl and results.json.</li>
<li><a href="lab.html">Labs</a>: write a lab's function and grade it here.</li>
<li><a href="partition.html">Play a partition live</a>: one fixed run, start to verdict.</li>
<li><a href="dashboard.html">Dashboard</a>: the cluster <code>npm start</code> runs (served by it).</li>
</ul>
</main>
<script type="module" src="./src/home.ts"></script>
</body>
</html>
`;
}

/**
 * Writes index.html and lessons/*.html under `siteRoot` from the lessons in `labsDirectory`
 * (or, when it has none yet, from `fallbackDirectory`), and returns the pages written.
 */
export function writeSitePages(
  siteRoot: string,
  labsDirectory: string,
  fallbackDirectory: string,
): { pages: string[]; lessons: RenderedLesson[] } {
  let sources = findLessons(labsDirectory);
  if (sources.length === 0) sources = findLessons(fallbackDirectory);
  const lessons = sources.map(renderLesson);
  const lessonDirectory = join(siteRoot, "lessons");
  rmSync(lessonDirectory, { recursive: true, force: true });
  mkdirSync(lessonDirectory, { recursive: true });
  const pages: string[] = [];
  lessons.forEach((lesson, position) => {
    const link = (other: RenderedLesson | undefined): PageLink | undefined =>
      other === undefined ? undefined : { href: `${other.id}.html`, title: other.title };
    const file = join(lessonDirectory, `${lesson.id}.html`);
    writeFileSync(
      file,
      lessonPage(lesson, link(lessons[position - 1]), link(lessons[position + 1])),
    );
    pages.push(file);
  });
  const index = join(siteRoot, "index.html");
  writeFileSync(index, indexPage(lessons));
  pages.push(index);
  return { pages, lessons };
}
