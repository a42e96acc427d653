// Small DOM helpers the site's widgets share (every page): build elements without innerHTML
// (so text from a history or a key is never parsed as HTML), and SVG elements by name.

type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | undefined | false;

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  setAttributes(created, attributes);
  for (const child of children) if (child !== undefined && child !== false) created.append(child);
  return created;
}

const svgNamespace = "http://www.w3.org/2000/svg";

export function svgElement(
  tag: string,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElement {
  const created = document.createElementNS(svgNamespace, tag) as SVGElement;
  setAttributes(created, attributes);
  for (const child of children) if (child !== undefined && child !== false) created.append(child);
  return created;
}

function setAttributes(target: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    target.setAttribute(name, value === true ? "" : String(value));
  }
}

/** A labelled form control: <label>text <control></label>. */
export function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  return element("label", {}, text, control);
}

/** Ten colours a reader can tell apart, each dark enough for white text. */
export const nodeColours = [
  "#1f5fbf",
  "#b3261e",
  "#1e7b34",
  "#8a4fbf",
  "#a65c00",
  "#00707a",
  "#b0306a",
  "#4d5b12",
  "#5a4636",
  "#3b3f99",
];

export function colourOf(index: number): string {
  return nodeColours[index % nodeColours.length]!;
}

/** Node names n1..nK, the cluster's own. */
export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `n${index + 1}`);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
