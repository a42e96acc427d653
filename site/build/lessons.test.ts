// Tests of the build-time lesson pages (every lesson): anchors, contents, highlighting, widget
// places, previous/next, and raw HTML in a README shown as text.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseWidget, renderLesson, slug, writeSitePages } from "./lessons.ts";

const fixtures = fileURLToPath(new URL("../fixtures/labs", import.meta.url));

describe("lesson pages", () => {
  it("renders headings with anchors, a contents list, highlighted code and widget places", () => {
    const lesson = renderLesson({
      id: "03-network-splits",
      number: "03",
      markdown: [
        "# Lab 03: splits",
        "## The concept",
        "### 03b: no add is lost",
        "## The concept",
        "```ts\nconst x: number = 1; // one\n```",
        "```neverstop-widget lab 03```",
        "```neverstop-widget\nplayer scenario=crash\n```",
        "See [lab 04](../04-ring/README.md#the-opening-state).",
        "<script>alert(1)</script>",
      ].join("\n\n"),
    });
    expect(lesson.title).toBe("Lab 03: splits");
    expect(lesson.toc.map((entry) => entry.id)).toEqual([
      "the-concept",
      "03b-no-add-is-lost",
      "the-concept-1",
    ]);
    expect(lesson.bodyHtml).toContain(
      '<h2 id="the-concept">The concept <a class="anchor" href="#the-concept"',
    );
    expect(lesson.bodyHtml).toContain('<span class="hljs-keyword">const</span>');
    expect(lesson.bodyHtml).toContain('<span class="hljs-comment">// one</span>');
    expect(lesson.widgets).toEqual([
      { kind: "lab", positional: ["03"], options: {} },
      { kind: "player", positional: [], options: { scenario: "crash" } },
    ]);
    expect(lesson.bodyHtml).toContain('data-widget="lab"');
    expect(lesson.bodyHtml).toContain("npx neverstop lab 03");
    expect(lesson.bodyHtml).toContain('href="04-ring.html#the-opening-state"');
    expect(lesson.bodyHtml).not.toContain("<script>");
    expect(lesson.bodyHtml).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("adds a 'Try it here' section with the lab's grader and the lesson's tool when the README has none", () => {
    const lesson = renderLesson({
      id: "04-the-ring",
      number: "04",
      markdown: "# Lab 04\n\n## The ring\n\nText.",
      hasStarter: true,
    });
    expect(lesson.widgets.map((widget) => widget.kind)).toEqual(["ring", "lab"]);
    expect(lesson.toc.at(-1)).toEqual({ level: 2, id: "try-it-here", text: "Try it here" });
    const none = renderLesson({ id: "02-x", number: "02", markdown: "# Lab 02" });
    expect(none.widgets).toEqual([]);
    expect(none.bodyHtml).not.toContain("Try it here");
  });

  it("refuses an unknown widget with one line naming the lesson", () => {
    expect(parseWidget("spinner")).toBe('Expected a widget among ring, player, lab, got "spinner"');
    expect(() =>
      renderLesson({ id: "05-x", number: "05", markdown: "```neverstop-widget spinner```" }),
    ).toThrow('05-x/README.md: Expected a widget among ring, player, lab, got "spinner"');
    expect(slug("03b: No add is <em>lost</em>!")).toBe("03b-no-add-is-lost");
  });

  it("writes one page per lesson with previous and next links, and the index", () => {
    const root = mkdtempSync(join(tmpdir(), "neverstop-lessons-"));
    try {
      const { pages, lessons } = writeSitePages(root, join(root, "no-labs"), fixtures);
      expect(lessons.map((lesson) => lesson.id)).toEqual([
        "00-tour",
        "03-network-splits",
        "04-ring",
      ]);
      expect(pages).toHaveLength(4);
      const middle = readFileSync(join(root, "lessons", "03-network-splits.html"), "utf8");
      expect(middle).toContain('<a rel="prev" href="00-tour.html">');
      expect(middle).toContain('<a rel="next" href="04-ring.html">');
      expect(middle).toContain('<nav class="toc" aria-label="Contents of this lesson">');
      const index = readFileSync(join(root, "index.html"), "utf8");
      expect(index).toContain('<a href="lessons/04-ring.html">Lab 04: the ring</a>');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
