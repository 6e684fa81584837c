// The `ticket` card design in JavaScript: a listing as an admission ticket, built into a component by componentize-qjs.
//
// It implements world `card` of wit/card.wit like the Rust designs: `describe` and `render`
// are the exports. componentize-qjs maps WIT to JavaScript as follows: record fields are
// camelCase (`priceCents`, `imageDataUri`, `cpuMarkPerDollar`), `option<T>` is `T` or `null`,
// `u64` arrives as a number (exact up to 2^53) or a BigInt, and the `result` of `render` is
// the returned string or a thrown `{ tag: "invalid-input" | "unsupported-size", val }`.
//
// Layout (CSS pixels, 1200×630): a cream ticket on a solid deep-teal ground.
// - Pixel-check region: the left 16 px column, x ∈ [0, 16), y ∈ [0, 630), is solid
//   GROUND (#134E4A). The ticket starts at x = 40 and its hard shadow falls right and down
//   only, so nothing ever covers it. Keep it stable across versions.
// - Main part: brand pill and listing number, title (at most three lines), CPU, and four
//   fields (RAM, storage, condition, seller) along the bottom.
// - Stub, behind a perforation: the photo (or a placeholder), the price, and the CPU Mark
//   per dollar (or the CPU Mark).
//
// Rules as for every design: all listing text goes through esc() and sits in dir="auto"
// elements, images only through safeImage(), no script, no URL, no web font, no
// <meta http-equiv>; long text is cut here before CSS clamps it.

const NAME = "ticket";
const VERSION = "1.0.0";
const WIDTH = 1200;
const HEIGHT = 630;
/** Colour of the pixel-check column and of the ground around the ticket. */
const GROUND = "#134E4A";

export function describe() {
  return { name: NAME, version: VERSION, size: { width: WIDTH, height: HEIGHT } };
}

export function render(input) {
  if (input.size.width !== WIDTH || input.size.height !== HEIGHT) {
    throw { tag: "unsupported-size", val: input.size };
  }
  return card(input);
}

// ---- text ------------------------------------------------------------------------------

/** Escapes `& < > " '` for text and quoted attributes; drops control characters. */
function esc(text) {
  return String(text)
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Whether code point `c` attaches to the one before it (approximate grapheme extend). */
function extendsCluster(c) {
  return (
    /\p{M}/u.test(String.fromCodePoint(c)) ||
    c === 0x200d || // zero-width joiner
    (c >= 0xfe00 && c <= 0xfe0f) || // variation selectors
    (c >= 0x1f3fb && c <= 0x1f3ff) || // skin tones
    (c >= 0xe0020 && c <= 0xe007f) // tag sequences
  );
}

const isRegional = (c) => c >= 0x1f1e6 && c <= 0x1f1ff;

/**
 * `text` trimmed and cut to `max` user-perceived characters, ending in "…" when cut;
 * `null` when nothing visible is left. Never splits an emoji sequence, a flag or a base
 * character from its combining marks (a compact approximation of UAX #29, like the SDK's).
 */
function visible(text, max) {
  if (text === null || text === undefined) return null;
  const trimmed = String(text).trim();
  if (trimmed === "") return null;
  let clusters = 0;
  let prev = -1;
  let regionalRun = 0;
  for (const ch of trimmed) {
    const c = ch.codePointAt(0);
    const joins =
      prev !== -1 &&
      (extendsCluster(c) || prev === 0x200d || (isRegional(c) && regionalRun % 2 === 1));
    regionalRun = isRegional(c) ? regionalRun + 1 : 0;
    if (!joins) {
      if (clusters === max) {
        // Cluster number `max` starts here: keep `max - 1` and the ellipsis.
        return cutAt(trimmed, max - 1) + "…";
      }
      clusters += 1;
    }
    prev = c;
  }
  return trimmed;
}

/** The first `n` clusters of `text` (same rules as visible()). */
function cutAt(text, n) {
  let clusters = 0;
  let prev = -1;
  let regionalRun = 0;
  let end = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    const joins =
      prev !== -1 &&
      (extendsCluster(c) || prev === 0x200d || (isRegional(c) && regionalRun % 2 === 1));
    regionalRun = isRegional(c) ? regionalRun + 1 : 0;
    if (!joins) {
      if (clusters === n) break;
      clusters += 1;
    }
    prev = c;
    end += ch.length;
  }
  return text.slice(0, end).trimEnd();
}

// ---- numbers ---------------------------------------------------------------------------

// componentize-qjs 0.4.5 lifts `u32` and `u64` as if they were signed: 4294967295 arrives as
// -1. Every unsigned field goes through these before use.
const u32 = (n) => (n === null || n === undefined ? null : n < 0 ? n + 4294967296 : n);
const u64 = (n) => (n === null || n === undefined ? null : BigInt.asUintN(64, BigInt(n)));

/** `26800` (number or BigInt) → `26,800`. */
function grouped(n) {
  return BigInt(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A non-negative finite figure with one decimal (`1234.56` → `1,234.6`), else null. */
function oneDecimal(x) {
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0) return null;
  // No real listing gets near it; a 300-digit `f64::MAX` would only be an ellipsis.
  if (x >= 100000) return "99,999+";
  const tenths = Math.round(x * 10);
  return `${grouped(Math.floor(tenths / 10))}.${tenths % 10}`;
}

const PREFIX = { USD: "$", CAD: "CA$", AUD: "A$", NZD: "NZ$", EUR: "€", GBP: "£", INR: "₹" };

/** Cents of `currency` → `$1,289.99`, `$289`, `1,289.99 SEK`; null cents → null. */
function price(cents, currency) {
  if (cents === null || cents === undefined) return null;
  const big = BigInt(cents);
  const code = String(currency).trim();
  const prefix = PREFIX[code] || "";
  const fraction = big % 100n;
  let text = prefix + grouped(big / 100n);
  if (fraction !== 0n) text += "." + fraction.toString().padStart(2, "0");
  if (!prefix && code) text += " " + code;
  return text;
}

/** `512` → `512 GB`, `1000`/`1024` → `1 TB`, `1500` → `1.5 TB`. */
function size(gb) {
  if (gb < 1000) return `${gb} GB`;
  if (gb % 1024 === 0) return `${grouped(gb / 1024)} TB`;
  const hundredths = Math.floor((gb * 100) / 1000);
  const whole = Math.floor(hundredths / 100);
  const frac = String(hundredths % 100)
    .padStart(2, "0")
    .replace(/0+$/, "");
  return frac ? `${grouped(whole)}.${frac} TB` : `${grouped(whole)} TB`;
}

/** Estimated width in ems of a bold figure (Noto Sans Bold advances, -0.022em spacing). */
function widthEm(text) {
  let em = 0;
  for (const ch of text) {
    if (/[0-9$]/.test(ch)) em += 0.572;
    else if (ch === "," || ch === ".") em += 0.27;
    else if (ch === " ") em += 0.26;
    else if (/[A-Z]/.test(ch)) em += 0.68;
    else em += 0.62;
    em -= 0.022;
  }
  return em;
}

/** The first class in `sizes` ([px, class], largest first) at which `text` fits `maxPx`. */
function fit(text, sizes, maxPx) {
  const em = widthEm(text);
  const found = sizes.find(([px]) => em * px <= maxPx);
  return (found || sizes[sizes.length - 1])[1];
}

// ---- images ----------------------------------------------------------------------------

/** The URI when it is a base64 PNG/JPEG/WebP/GIF `data:` URI, else null (as the SDK). */
function safeImage(uri) {
  if (typeof uri !== "string") return null;
  return /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+={0,2}$/i.test(uri) ? uri : null;
}

// ---- the card --------------------------------------------------------------------------

const STYLE = `
*{box-sizing:border-box;margin:0;padding:0}
html,body{width:1200px;height:630px;overflow:hidden;background:${GROUND}}
body{font-family:"Noto Sans","DejaVu Sans","Liberation Sans","Noto Sans CJK SC","Noto Sans Arabic","Noto Sans Hebrew","Noto Color Emoji",sans-serif;color:#1C1917;-webkit-font-smoothing:antialiased}
.ground{position:relative;width:1200px;height:630px;background:${GROUND}}
.ticket{position:absolute;left:40px;top:36px;width:1116px;height:546px;display:flex;border-radius:26px;background:#FFF7E8;box-shadow:10px 12px 0 rgba(2,44,34,.6)}
.main{flex:1;min-width:0;padding:40px 44px 36px 48px;display:flex;flex-direction:column}
.top{display:flex;align-items:center;justify-content:space-between;gap:24px;min-width:0}
.brand{flex:none;display:flex;align-items:center;gap:10px;height:38px;max-width:380px;padding:0 18px 0 12px;border-radius:19px;background:${GROUND};color:#FFF7E8;font-size:16px;font-weight:800;letter-spacing:2px;text-transform:uppercase;white-space:nowrap;overflow:hidden}
.brand svg{flex:none}
.brand span{overflow:hidden;text-overflow:ellipsis}
.no{min-width:0;font-family:"DejaVu Sans Mono","Liberation Mono",monospace;font-size:16px;letter-spacing:1.5px;color:#A8A29E;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.kicker{margin-top:32px;font-size:15px;font-weight:800;letter-spacing:3px;color:#0F766E;text-transform:uppercase}
.title{margin-top:8px;font-size:40px;line-height:1.18;font-weight:800;letter-spacing:-.4px;color:#1C1917;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere;max-height:142px}
.cpu{margin-top:12px;font-size:21px;color:#57534E;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.fields{margin-top:auto;display:grid;grid-template-columns:minmax(0,.7fr) minmax(0,1.5fr) minmax(0,1fr) minmax(0,1fr);border-top:2px solid #EADFCB;padding-top:18px}
.field{min-width:0;padding-right:14px}
.field+.field{padding-left:16px;border-left:2px solid #EADFCB}
.label{font-size:13px;font-weight:800;letter-spacing:2px;text-transform:uppercase;color:#A8A29E;white-space:nowrap}
.value{margin-top:6px;font-size:21px;font-weight:700;color:#1C1917;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.none{color:#D6CCB8}
.c-new{color:#15803D}.c-refurb{color:#0369A1}.c-used{color:#B45309}
.cap{text-transform:capitalize}
.stub{position:relative;flex:none;width:316px;padding:36px 34px 34px 38px;border-left:3px dashed #DCCBAA;display:flex;flex-direction:column;align-items:center}
.notch{position:absolute;left:-24px;width:45px;height:45px;border-radius:50%;background:${GROUND}}
.n-top{top:-23px}.n-bottom{bottom:-23px}
.photo{flex:none;width:196px;height:196px;border-radius:20px;overflow:hidden;background:#FFFFFF;box-shadow:0 0 0 2px #EFE3CC;display:flex;align-items:center;justify-content:center}
.photo img{width:100%;height:100%;object-fit:contain;display:block}
.ph{background:#F6ECDA;box-shadow:none;flex-direction:column;gap:10px;color:#B8A98C;font-size:13px;font-weight:800;letter-spacing:2px;text-transform:uppercase}
.plabel{margin-top:24px;font-size:13px;font-weight:800;letter-spacing:2.4px;text-transform:uppercase;color:#A8A29E}
.price{margin-top:4px;max-width:244px;font-weight:800;line-height:1.1;letter-spacing:-.022em;color:#1C1917;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.p0{font-size:50px}.p1{font-size:42px}.p2{font-size:36px}.p3{font-size:30px}.p4{font-size:25px}.p5{font-size:21px}
.p-na{font-size:32px;color:#C4B8A2;letter-spacing:0}
.score{margin-top:auto;width:100%;padding-top:14px;border-top:2px solid #EADFCB;display:flex;align-items:baseline;justify-content:center;gap:10px;white-space:nowrap;overflow:hidden}
.score b{font-size:30px;font-weight:800;color:#0F766E;letter-spacing:-.3px}
.score small{font-size:13px;font-weight:800;letter-spacing:1.8px;text-transform:uppercase;color:#78716C}
`;

const TICKET_ICON =
  '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="#5EEAD4" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M3 8a2 2 0 0 0 2-2h14a2 2 0 0 0 2 2v8a2 2 0 0 0-2 2H5a2 2 0 0 0-2-2z"/><path d="M14 6v12" stroke-dasharray="2 2.5"/></svg>';

const PHOTO_ICON =
  '<svg width="84" height="84" viewBox="0 0 64 64" fill="none" stroke="#C9B995" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="6" y="12" width="36" height="26" rx="3"/><path d="M18 48h12M24 38v10"/><rect x="46" y="12" width="12" height="36" rx="2"/><path d="M50 18h4M50 23h4"/><circle cx="52" cy="41" r="1.6"/></svg>';

const PRICE_SIZES = [
  [50, "price p0"],
  [42, "price p1"],
  [36, "price p2"],
  [30, "price p3"],
  [25, "price p4"],
  [21, "price p5"],
];

function conditionClass(text) {
  const t = text.trim().toLowerCase();
  if (["new", "open box", "open-box", "sealed", "brand new"].includes(t)) return "value cap c-new";
  if (["refurbished", "renewed", "refurb", "certified refurbished"].includes(t)) {
    return "value cap c-refurb";
  }
  if (["used", "pre-owned", "preowned", "second hand", "secondhand"].includes(t)) {
    return "value cap c-used";
  }
  return "value cap";
}

function field(label, value, valueClass = "value") {
  const shown = value === null ? '<div class="value none">—</div>' : `<div class="${valueClass}" dir="auto">${esc(value)}</div>`;
  return `<div class="field"><div class="label">${label}</div>${shown}</div>`;
}

function card(input) {
  const l = input.listing;
  const brand = visible(input.brand, 32) || "Deal Brain";
  const title = visible(l.title, 160) || "Untitled listing";
  const cpu = visible(l.cpuName, 60);
  const number = visible(l.id, 24);
  const ramGb = u32(l.ramGb);
  const storageGb = u32(l.storageGb);
  const ram = ramGb ? size(ramGb) : null;
  const kind = visible(l.storageType, 28);
  const storage = storageGb ? (kind ? `${size(storageGb)} ${kind}` : size(storageGb)) : kind;
  const condition = visible(l.condition, 28);
  const seller = visible(l.seller, 40);
  const image = safeImage(input.imageDataUri);
  const cost = price(u64(l.priceCents), l.currency);
  const perDollar = oneDecimal(l.cpuMarkPerDollar);
  const cpuMark = u32(l.cpuMark);
  const mark = cpuMark ? grouped(cpuMark) : null;

  const photo = image
    ? `<div class="photo"><img alt="" src="${esc(image)}"></div>`
    : `<div class="photo ph">${PHOTO_ICON}<span>No photo</span></div>`;
  const priceHtml = cost
    ? `<div class="${fit(cost, PRICE_SIZES, 236)}" dir="ltr">${esc(cost)}</div>`
    : '<div class="price p-na">Price n/a</div>';
  let score = "";
  if (perDollar) {
    score = `<p class="score"><b dir="ltr">${esc(perDollar)}</b><small>CPU Mark / $</small></p>`;
  } else if (mark) {
    score = `<p class="score"><b dir="ltr">${esc(mark)}</b><small>CPU Mark</small></p>`;
  }

  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=1200,height=630"><style>${STYLE}</style></head>` +
    `<body><div class="ground"><div class="ticket"><main class="main">` +
    `<div class="top"><div class="brand">${TICKET_ICON}<span dir="auto">${esc(brand)}</span></div>` +
    (number ? `<div class="no">No. ${esc(number)}</div>` : "") +
    `</div><div class="kicker">Admit one deal</div>` +
    `<h1 class="title" dir="auto">${esc(title)}</h1>` +
    (cpu ? `<p class="cpu" dir="auto">${esc(cpu)}</p>` : "") +
    `<div class="fields">` +
    field("RAM", ram) +
    field("Storage", storage) +
    field("Condition", condition, condition ? conditionClass(condition) : "value") +
    field("Seller", seller) +
    `</div></main><aside class="stub"><i class="notch n-top"></i><i class="notch n-bottom"></i>` +
    `${photo}<div class="plabel">Price</div>${priceHtml}${score}</aside>` +
    `</div></div></body></html>`
  );
}
