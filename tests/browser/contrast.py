"""WCAG 2 contrast of the text a user sees, measured in the page with its real theme."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator

# WCAG 2.x success criterion 1.4.3 (AA) for text below the "large" size.
AA_NORMAL_TEXT = 4.5

# For every piece of text inside `root` that is rendered (text nodes, and ::before/::after
# content): its colour and its effective background, both composited the way the page paints
# them (background colours of the element and its ancestors down to an opaque one, alpha and
# `opacity` included), and their WCAG contrast ratio. Colours in any CSS syntax are read back
# through a canvas pixel, so `color-mix()` or `color(srgb …)` values work too.
MEASURE = """root => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const rgba = (css) => {
    const m = css.match(/^rgba?\\(([^)]+)\\)$/);
    if (m) {
      const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "rgba(0, 0, 0, 0)";
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat(1);
  };
  const opacity = (el) => {
    let product = 1;
    for (let n = el; n instanceof Element; n = n.parentElement) {
      product *= parseFloat(getComputedStyle(n).opacity);
    }
    return product;
  };
  const background = (el) => {
    const layers = [];
    for (let n = el; n instanceof Element; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      c[3] *= opacity(n);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [255, 255, 255, 1];  // the canvas under everything
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const shown = (el) => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility === "visible" && !el.closest("[hidden]");
  const label = (el) => {
    const cls = typeof el.className === "string" ? el.className.split(" ")[0] : "";
    return el.tagName.toLowerCase() + (cls ? "." + cls : "");
  };
  const results = [];
  const measure = (el, text, style) => {
    const bg = background(el);
    const fg = over(rgba(style.color).map((v, i) => i === 3 ? v * opacity(el) : v), bg);
    results.push({element: label(el), terminal: el.closest(".xterm-rows") !== null,
                  text: text.trim().slice(0, 60),
                  color: style.color, background: `rgb(${bg.slice(0, 3).map(Math.round)})`,
                  ratio: Math.round(ratio(fg, bg) * 100) / 100});
  };
  for (const el of [root, ...root.querySelectorAll("*")]) {
    if (!shown(el)) continue;
    const own = Array.from(el.childNodes)
      .filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join("");
    if (own.trim() !== "") measure(el, own, getComputedStyle(el));
    for (const pseudo of ["::before", "::after"]) {
      const style = getComputedStyle(el, pseudo);
      const content = style.content;
      if (content && content !== "none" && content !== "normal" && content.replace(/["' ]/g, "")) {
        measure(el, content, style);
      }
    }
  }
  return results;
}"""


def text_contrasts(root: Locator) -> list[dict[str, Any]]:
    """Every rendered text of ``root`` with its colour, background and contrast ratio."""
    return list(root.evaluate(MEASURE))
