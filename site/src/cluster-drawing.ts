// A drawing of the cluster as an SVG (lesson 3, network splits): the nodes on a circle, a line
// for every pair of nodes, and the links a partition cuts shown dashed. A link cut in both
// directions is red; a link cut in one direction only (a one-way partition) is orange, with
// the arrow's direction in its tooltip. Browser only (it builds DOM elements).

const svgNamespace = "http://www.w3.org/2000/svg";
/** The drawing's coordinate box; the SVG scales it to its element's size. */
const sizePx = 300;
const nodeRadiusPx = 22;
const circleRadiusPx = sizePx / 2 - nodeRadiusPx - 10;

export interface ClusterDrawing {
  /** Shows `cut` ("n1->n2" strings) as the links that are cut now; an empty list heals all. */
  showCut(cut: readonly string[]): void;
}

function element<Name extends keyof SVGElementTagNameMap>(
  name: Name,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[Name] {
  const created = document.createElementNS(svgNamespace, name);
  for (const [attribute, value] of Object.entries(attributes)) {
    created.setAttribute(attribute, String(value));
  }
  return created;
}

/** Draws `nodes` into `svg` (emptied first) and returns the handle that colours the links. */
export function drawCluster(svg: SVGSVGElement, nodes: readonly string[]): ClusterDrawing {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${sizePx} ${sizePx}`);
  const position = new Map<string, { x: number; y: number }>();
  nodes.forEach((node, index) => {
    // Start at the top and go clockwise, like a clock face.
    const angle = (2 * Math.PI * index) / nodes.length - Math.PI / 2;
    position.set(node, {
      x: sizePx / 2 + circleRadiusPx * Math.cos(angle),
      y: sizePx / 2 + circleRadiusPx * Math.sin(angle),
    });
  });

  const links = new Map<string, { line: SVGLineElement; title: SVGTitleElement }>();
  for (const [index, from] of nodes.entries()) {
    for (const to of nodes.slice(index + 1)) {
      const a = position.get(from)!;
      const b = position.get(to)!;
      const line = element("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "link" });
      const title = element("title", {});
      line.append(title);
      svg.append(line);
      links.set(`${from}|${to}`, { line, title });
    }
  }
  for (const node of nodes) {
    const { x, y } = position.get(node)!;
    const group = element("g", { class: "node" });
    group.append(element("circle", { cx: x, cy: y, r: nodeRadiusPx }));
    const label = element("text", {
      x,
      y,
      "text-anchor": "middle",
      "dominant-baseline": "central",
    });
    label.textContent = node;
    group.append(label);
    svg.append(group);
  }

  return {
    showCut(cut) {
      const cutSet = new Set(cut);
      for (const [pair, { line, title }] of links) {
        const [from, to] = pair.split("|") as [string, string];
        const forward = cutSet.has(`${from}->${to}`);
        const backward = cutSet.has(`${to}->${from}`);
        const state = forward && backward ? "cut" : forward || backward ? "one-way" : "up";
        line.setAttribute("class", `link ${state}`);
        title.textContent =
          state === "up"
            ? `${from} <-> ${to}`
            : state === "cut"
              ? `${from} -/- ${to}: cut both ways`
              : forward
                ? `${from} -/-> ${to}: cut one way`
                : `${to} -/-> ${from}: cut one way`;
      }
    },
  };
}
