#!/usr/bin/env node
/**
 * Draws the Kleinbild icon (a 35 mm film frame — "Kleinbild" is German for 35 mm film — with its
 * sprocket holes and a sun) and writes it to public/: favicon.svg, icon-192.png, icon-512.png,
 * icon-maskable-512.png and apple-touch-icon.png (180 px). The outputs are committed; run this again
 * after changing the design:  node scripts/icons.mjs
 *
 * The design is a list of shapes on a 32×32 grid, written once and rendered twice: as SVG elements
 * and, for the PNGs, rasterised here from signed distance functions (coverage = ½ − distance in
 * pixels, clamped to [0, 1]: one-pixel antialiasing) and composited with "over". The maskable icon
 * fills the whole square (no rounded corners) and shrinks the artwork to 75 % so that it stays
 * inside the 80 %-diameter safe circle that launchers may crop to.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';

const OUT = fileURLToPath(new URL('../public/', import.meta.url));
const GRID = 32;
const BACKGROUND = '#1f2937';
const AMBER = '#f59e0b';

/** @typedef {{ kind: 'rect', x: number, y: number, w: number, h: number, r: number, fill?: string, stroke?: string, width?: number }} Rect */
/** @typedef {{ kind: 'circle', cx: number, cy: number, r: number, fill: string }} Circle */
/** @typedef {Rect | Circle} Shape */

/** The artwork without its background, on the 32×32 grid. @type {Shape[]} */
const ART = [
  { kind: 'rect', x: 5, y: 8, w: 22, h: 16, r: 2, stroke: AMBER, width: 2 },
  ...[7, 11, 15, 19, 23].flatMap((x) => [
    { kind: 'rect', x, y: 4, w: 2, h: 2, r: 0.5, fill: AMBER },
    { kind: 'rect', x, y: 26, w: 2, h: 2, r: 0.5, fill: AMBER },
  ]),
  { kind: 'circle', cx: 16, cy: 16, r: 4, fill: AMBER },
];

/** @param {boolean} maskable @returns {Shape[]} */
function design(maskable) {
  if (!maskable) return [{ kind: 'rect', x: 0, y: 0, w: GRID, h: GRID, r: 6, fill: BACKGROUND }, ...ART];
  const k = 0.75;
  const c = GRID / 2;
  /** @param {number} v */
  const at = (v) => c + (v - c) * k;
  /** @type {Shape[]} */
  const art = ART.map((s) =>
    s.kind === 'circle'
      ? { ...s, cx: at(s.cx), cy: at(s.cy), r: s.r * k }
      : { ...s, x: at(s.x), y: at(s.y), w: s.w * k, h: s.h * k, r: s.r * k, ...(s.width ? { width: s.width * k } : {}) },
  );
  return [{ kind: 'rect', x: 0, y: 0, w: GRID, h: GRID, r: 0, fill: BACKGROUND }, ...art];
}

/** @param {Shape[]} shapes */
function toSvg(shapes) {
  const body = shapes.map((s) => {
    if (s.kind === 'circle') return `  <circle cx="${s.cx}" cy="${s.cy}" r="${s.r}" fill="${s.fill}"/>`;
    const paint = s.stroke ? `fill="none" stroke="${s.stroke}" stroke-width="${s.width}"` : `fill="${s.fill}"`;
    return `  <rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" rx="${s.r}" ${paint}/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${GRID} ${GRID}">\n${body.join('\n')}\n</svg>\n`;
}

/** Signed distance (grid units) from (px, py) to a rounded rectangle's filled area. */
function roundRectDistance(px, py, x, y, w, h, r) {
  const qx = Math.abs(px - (x + w / 2)) - (w / 2 - r);
  const qy = Math.abs(py - (y + h / 2)) - (h / 2 - r);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

/** @param {Shape} s @param {number} px @param {number} py */
function distance(s, px, py) {
  if (s.kind === 'circle') return Math.hypot(px - s.cx, py - s.cy) - s.r;
  const d = roundRectDistance(px, py, s.x, s.y, s.w, s.h, s.r);
  return s.stroke ? Math.abs(d) - (s.width ?? 1) / 2 : d;
}

/** '#rrggbb' → [r, g, b] in 0…1. @param {string} hex */
function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
}

/** Rasterises `shapes` to size×size RGBA8 (straight alpha). @param {Shape[]} shapes @param {number} size */
function rasterise(shapes, size) {
  const data = new Uint8Array(size * size * 4);
  const unitsPerPixel = GRID / size;
  const paints = shapes.map((s) => rgb(s.kind === 'circle' ? s.fill : (s.stroke ?? s.fill ?? '#000000')));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = (x + 0.5) * unitsPerPixel;
      const py = (y + 0.5) * unitsPerPixel;
      let r = 0, g = 0, b = 0, a = 0; // premultiplied
      shapes.forEach((s, i) => {
        const cover = Math.min(1, Math.max(0, 0.5 - distance(s, px, py) / unitsPerPixel));
        if (cover === 0) return;
        const [sr, sg, sb] = /** @type {number[]} */ (paints[i]);
        r = sr * cover + r * (1 - cover);
        g = sg * cover + g * (1 - cover);
        b = sb * cover + b * (1 - cover);
        a = cover + a * (1 - cover);
      });
      const o = (y * size + x) * 4;
      data[o] = a > 0 ? Math.round((r / a) * 255) : 0;
      data[o + 1] = a > 0 ? Math.round((g / a) * 255) : 0;
      data[o + 2] = a > 0 ? Math.round((b / a) * 255) : 0;
      data[o + 3] = Math.round(a * 255);
    }
  }
  return data;
}

/** @param {string} name @param {Shape[]} shapes @param {number} size */
function writePng(name, shapes, size) {
  const png = encode({ width: size, height: size, data: rasterise(shapes, size), channels: 4, depth: 8 });
  writeFileSync(OUT + name, png);
  console.log(`${name}: ${size}×${size}, ${png.byteLength} bytes`);
}

writeFileSync(OUT + 'favicon.svg', toSvg(design(false)));
writePng('icon-192.png', design(false), 192);
writePng('icon-512.png', design(false), 512);
writePng('icon-maskable-512.png', design(true), 512);
writePng('apple-touch-icon.png', design(true), 180); // iOS rounds the corners itself and shows no alpha
