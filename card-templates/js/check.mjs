// Renders the SDK's sample inputs through a built JavaScript card component and checks the output.
//
//   node check.mjs MODULE SAMPLES_JSON [OUT_DIR]
//
// MODULE is the component transpiled by `jco transpile COMPONENT.wasm -o DIR --name card`
// (DIR/card.js), so what runs is the built component itself (QuickJS inside WebAssembly),
// not card.js: what the service would load. SAMPLES_JSON comes from
// `card-preview samples-json` (jco's camelCase shape; u64 and f64 as strings). With OUT_DIR,
// each card is written to OUT_DIR/{sample}.html for `card-preview capture OUT_DIR`.
//
// `cargo xtask templates build` runs this for every design in card-templates/js/. Exits
// non-zero, listing every sample and rule that failed.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";

// The QuickJS runtime uses extended constant expressions, behind a flag in Node 20 (V8 11.3)
// and on by default from Node 22; set before any module is compiled. Unknown flags are ignored.
v8.setFlagsFromString("--experimental-wasm-extended-const");

const [modulePath, samplesPath, outDir] = process.argv.slice(2);
if (!modulePath || !samplesPath) {
  console.error("usage: check.mjs MODULE SAMPLES_JSON [OUT_DIR]");
  process.exit(2);
}

const card = await import(pathToFileURL(path.resolve(modulePath)).href);
const samples = JSON.parse(fs.readFileSync(samplesPath, "utf8"));

/** jco wants u64 as BigInt and f64 as numbers; the JSON carries both as strings. */
function toWit(input) {
  const l = input.listing;
  const f64 = (s) => (s === null ? null : Number(s.replace(/^(-?)inf$/, "$1Infinity")));
  return {
    ...input,
    listing: {
      ...l,
      priceCents: l.priceCents === null ? null : BigInt(l.priceCents),
      cpuMarkPerDollar: f64(l.cpuMarkPerDollar),
    },
  };
}

const MAX_HTML_BYTES = 2 * 1024 * 1024;
const failures = [];
function check(name, ok, what) {
  if (!ok) failures.push(`${name}: ${what}`);
}

const info = card.describe();
check("describe", /^[a-z0-9-]{1,32}$/.test(info.name), `bad name ${JSON.stringify(info.name)}`);
check("describe", info.size.width === 1200 && info.size.height === 630, "size is not 1200x630");

if (outDir) fs.mkdirSync(outDir, { recursive: true });
let largest = 0;
for (const { name, input } of samples) {
  const wit = toWit(input);
  let html;
  try {
    html = card.render(wit);
  } catch (err) {
    failures.push(`${name}: render failed: ${err && err.stack ? err.stack : JSON.stringify(err)}`);
    continue;
  }
  const image = input.imageDataUri || "";
  const bytes = Buffer.byteLength(html);
  largest = Math.max(largest, html.includes(image) && image ? bytes - image.length : bytes);
  const lower = html.toLowerCase();
  check(name, lower.startsWith("<!doctype html>"), "does not start with <!doctype html>");
  check(name, bytes <= MAX_HTML_BYTES, `${bytes} bytes, over 2 MiB`);
  check(name, !/<meta[^>]*http-equiv/.test(lower), "has a <meta http-equiv>");
  check(name, !lower.includes("<script"), "has a <script>");
  check(name, !/https?:|url\(|@font-face|@import/.test(lower), "references a URL or a web font");
  check(name, html.includes('dir="auto"'), 'marks no text dir="auto"');
  check(name, !html.includes("javascript:"), "embeds a javascript: URI");
  if (name === "hostile") {
    check(name, html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), "title not escaped");
    check(name, !html.includes("<iframe") && !html.includes("<img src=x"), "markup leaked");
    check(name, (html.match(/<\/style>/g) || []).length === 1, "a </style> leaked");
  }
  if (name === "long-title") check(name, bytes < 32 * 1024 + image.length, "long title not cut");
  if (name === "extreme-numbers") {
    // u64::MAX cents and u32::MAX GB: a guest that reads them as signed shows "-1".
    check(name, html.includes("184,467,440,737,095,516.15"), "u64::MAX price misread");
    check(name, !/>-1\b|\.-1\b/.test(html), "an unsigned field was read as -1");
  }
  if (outDir) fs.writeFileSync(path.join(outDir, `${name}.html`), html);
}

let refused = false;
try {
  const first = toWit(samples[0].input);
  card.render({ ...first, size: { width: 800, height: 418 } });
} catch (err) {
  // jco wraps the component's `err(render-error)` in a ComponentError with a `payload`.
  const payload = err && err.payload ? err.payload : err;
  refused = payload && payload.tag === "unsupported-size";
}
check("unsupported-size", refused, "800x418 was not refused with unsupported-size");

if (failures.length) {
  console.error(`${info.name}: ${failures.length} problem(s):\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(
  `${info.name}@${info.version}: ${samples.length} samples rendered and checked ` +
    `(largest ${largest} bytes without the image)${outDir ? `, HTML in ${outDir}` : ""}`,
);
