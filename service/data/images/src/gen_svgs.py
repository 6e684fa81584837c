#!/usr/bin/env python3
"""Generate the sample product illustrations as SVG (isometric, flat shading).

Writes one SVG per product into this folder. `render.sh` rasterises them.
Standard library only; the SVGs are committed too, so this is only needed to
change a drawing.
"""
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
C = math.cos(math.radians(30))
S = 0.5


def f(v):
    return f"{v:.2f}".rstrip("0").rstrip(".")


class Iso:
    """Isometric projection: x goes right-down, y goes left-down, z goes up."""

    def __init__(self, cx, cy):
        self.cx, self.cy = cx, cy

    def p(self, x, y, z):
        return (self.cx + (x - y) * C, self.cy + (x + y) * S - z)

    def top(self, z):
        """Local (x, y) on the plane at height z."""
        return f"matrix({f(C)},{f(S)},{f(-C)},{f(S)},{f(self.cx)},{f(self.cy - z)})"

    def left(self, y, ztop):
        """Face y=const (front-left). Local u = x, w = down from ztop."""
        return f"matrix({f(C)},{f(S)},0,1,{f(self.cx - C * y)},{f(self.cy + S * y - ztop)})"

    def right(self, x, d, ztop):
        """Face x=const (front-right) of a box of depth d. Local t from the front
        corner towards the back, w = down from ztop."""
        return f"matrix({f(C)},{f(-S)},0,1,{f(self.cx + C * (x - d))},{f(self.cy + S * (x + d) - ztop)})"


def fit(points3d, target=(300, 292), scale_to=None):
    """An Iso whose projection centres the given 3D points on `target`."""
    probe = Iso(0, 0)
    xy = [probe.p(*p) for p in points3d]
    xs = [p[0] for p in xy]
    ys = [p[1] for p in xy]
    return Iso(target[0] - (min(xs) + max(xs)) / 2, target[1] - (min(ys) + max(ys)) / 2)


def box_corners(W, D, H):
    return [(x, y, z) for x in (0, W) for y in (0, D) for z in (0, H)]


def pts(points):
    return " ".join(f"{f(x)},{f(y)}" for x, y in points)


def rounded_rect_points(x0, y0, w, d, r, n=8):
    out = []
    corners = [
        (x0 + w - r, y0 + r, -90),
        (x0 + w - r, y0 + d - r, 0),
        (x0 + r, y0 + d - r, 90),
        (x0 + r, y0 + r, 180),
    ]
    for cx, cy, a0 in corners:
        if r == 0:
            out.append((cx, cy))
            continue
        for i in range(n + 1):
            a = math.radians(a0 + 90 * i / n)
            out.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return out


def hull(points):
    pts_ = sorted(set((round(x, 3), round(y, 3)) for x, y in points))
    if len(pts_) <= 2:
        return pts_

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts_:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts_):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


class Svg:
    def __init__(self, w=600, h=600, bg=("#f7f8fa", "#e6e9ee")):
        self.w, self.h = w, h
        self.defs = []
        self.body = []
        self.n = 0
        self.scale = 1.0
        self.defs.append(
            f'<radialGradient id="bg" cx="50%" cy="42%" r="75%">'
            f'<stop offset="0" stop-color="{bg[0]}"/><stop offset="1" stop-color="{bg[1]}"/></radialGradient>'
        )
        self.defs.append(
            '<filter id="soft" x="-50%" y="-50%" width="200%" height="200%">'
            '<feGaussianBlur stdDeviation="14"/></filter>'
        )
        self.defs.append(
            '<filter id="contact" x="-50%" y="-50%" width="200%" height="200%">'
            '<feGaussianBlur stdDeviation="4"/></filter>'
        )
        self.defs.append(
            '<filter id="glow" x="-50%" y="-50%" width="200%" height="200%">'
            '<feGaussianBlur stdDeviation="3"/></filter>'
        )
        self.body.append(f'<rect width="{w}" height="{h}" fill="url(#bg)"/>')

    def uid(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def add(self, s):
        self.body.append(s)

    def defn(self, s):
        self.defs.append(s)

    def lingrad(self, stops, x1, y1, x2, y2, user=True):
        gid = self.uid("g")
        units = ' gradientUnits="userSpaceOnUse"' if user else ""
        st = "".join(
            f'<stop offset="{f(o)}" stop-color="{c}"' + (f' stop-opacity="{f(a)}"' if a is not None else "") + "/>"
            for o, c, a in [(s + (None,))[:3] for s in stops]
        )
        self.defn(f'<linearGradient id="{gid}" x1="{f(x1)}" y1="{f(y1)}" x2="{f(x2)}" y2="{f(y2)}"{units}>{st}</linearGradient>')
        return f"url(#{gid})"

    def save(self, name):
        if self.scale != 1.0:
            k = self.scale
            cx, cy = self.w / 2, self.h / 2
            self.body = [self.body[0], f'<g transform="translate({f(cx)} {f(cy)}) scale({f(k)}) translate({f(-cx)} {f(-cy)})">']                 + self.body[1:] + ["</g>"]
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
            f'viewBox="0 0 {self.w} {self.h}">\n<defs>\n' + "\n".join(self.defs) + "\n</defs>\n"
            + "\n".join(self.body) + "\n</svg>\n"
        )
        with open(os.path.join(HERE, name), "w") as fh:
            fh.write(svg)


def shadow(svg, iso, x0, y0, w, d, r, spread=14, opacity=0.28):
    rr = rounded_rect_points(x0 - spread * 0.3, y0 - spread * 0.3, w + spread, d + spread, r + spread * 0.5)
    poly = [iso.p(x, y, 0) for x, y in rr]
    svg.add(f'<polygon points="{pts(poly)}" fill="#1a2433" opacity="{f(opacity)}" filter="url(#soft)"/>')
    rr2 = rounded_rect_points(x0 + 2, y0 + 2, w, d, r)
    poly2 = [iso.p(x, y, -1) for x, y in rr2]
    svg.add(f'<polygon points="{pts(poly2)}" fill="#0d1117" opacity="0.35" filter="url(#contact)"/>')


def rbox(svg, iso, x0, y0, z0, w, d, h, r, left, right, top, sheen="#ffffff", sheen_a=0.18,
         rim=None, vshade=0.22):
    """A vertical extrusion of a rounded rectangle. left/right: side colours of the
    front-left (y=max) and front-right (x=max) faces; top: colour or fill URL."""
    rr = rounded_rect_points(x0, y0, w, d, r)
    top_pts = [iso.p(x, y, z0 + h) for x, y in rr]
    bot_pts = [iso.p(x, y, z0) for x, y in rr]
    side = hull(top_pts + bot_pts)
    # screen x range of the front corner arc
    xa = iso.p(x0 + w - r, y0 + d, 0)[0]
    xb = iso.p(x0 + w, y0 + d - r, 0)[0]
    xl = min(p[0] for p in side)
    xr = max(p[0] for p in side)
    span = xr - xl
    oa, ob = (xa - xl) / span, (xb - xl) / span
    mid = (oa + ob) / 2
    g = svg.lingrad(
        [(0, left), (max(oa - 0.002, 0), left), (mid, sheen if r > 0 else left), (min(ob + 0.002, 1), right), (1, right)],
        xl, 0, xr, 0,
    )
    svg.add(f'<polygon points="{pts(side)}" fill="{g}"/>')
    if r > 0 and sheen_a > 0:
        # a soft specular highlight where the front corner turns
        g2 = svg.lingrad([(0, sheen, 0), (0.5, sheen, sheen_a), (1, sheen, 0)], xa, 0, xb, 0)
        svg.add(f'<polygon points="{pts(side)}" fill="{g2}"/>')
    if vshade:
        ys = [p[1] for p in side]
        g3 = svg.lingrad([(0, "#000", 0), (1, "#000", vshade)], 0, min(ys) + (max(ys) - min(ys)) * 0.3, 0, max(ys))
        svg.add(f'<polygon points="{pts(side)}" fill="{g3}"/>')
    svg.add(f'<polygon points="{pts(top_pts)}" fill="{top}"/>')
    if rim:
        svg.add(f'<polygon points="{pts(top_pts)}" fill="none" stroke="{rim}" stroke-width="1.4" stroke-linejoin="round"/>')
    return top_pts


# ---------------------------------------------------------------- details

def usb_a(x, y, w=20, h=8, tongue="#2f6fde"):
    return (
        f'<rect x="{f(x)}" y="{f(y)}" width="{w}" height="{h}" rx="1.2" fill="#07080a" stroke="#3b3f46" stroke-width="0.8"/>'
        f'<rect x="{f(x + 2.5)}" y="{f(y + 1.6)}" width="{w - 5}" height="{f(h * 0.38)}" fill="{tongue}"/>'
    )


def usb_c(x, y):
    return (
        f'<rect x="{f(x)}" y="{f(y)}" width="13" height="5" rx="2.5" fill="#07080a" stroke="#3b3f46" stroke-width="0.8"/>'
        f'<rect x="{f(x + 3)}" y="{f(y + 2)}" width="7" height="1.2" rx="0.6" fill="#6b7280"/>'
    )


def jack(x, y):
    return f'<circle cx="{f(x)}" cy="{f(y)}" r="3.6" fill="#07080a" stroke="#4b5058" stroke-width="1"/>'


def power_button(x, y, r=6.5, led="#38bdf8", ring="#4b5058", face="#1b1d21"):
    return (
        f'<circle cx="{f(x)}" cy="{f(y)}" r="{f(r + 1.8)}" fill="{led}" opacity="0.55" filter="url(#glow)"/>'
        f'<circle cx="{f(x)}" cy="{f(y)}" r="{f(r)}" fill="{face}" stroke="{led}" stroke-width="1.3"/>'
        f'<path d="M {f(x - r * 0.38)} {f(y - r * 0.3)} A {f(r * 0.48)} {f(r * 0.48)} 0 1 0 {f(x + r * 0.38)} {f(y - r * 0.3)}" '
        f'fill="none" stroke="{ring}" stroke-width="1.1" stroke-linecap="round"/>'
        f'<line x1="{f(x)}" y1="{f(y - r * 0.6)}" x2="{f(x)}" y2="{f(y - r * 0.05)}" stroke="{ring}" stroke-width="1.1" stroke-linecap="round"/>'
    )


def dot_pattern(svg, color, size=6, r=1.5, bg=None):
    pid = svg.uid("pat")
    back = f'<rect width="{size}" height="{size}" fill="{bg}"/>' if bg else ""
    svg.defn(
        f'<pattern id="{pid}" width="{size}" height="{size}" patternUnits="userSpaceOnUse">{back}'
        f'<circle cx="{size / 2}" cy="{size / 2}" r="{r}" fill="{color}"/>'
        f'</pattern>'
    )
    return f"url(#{pid})"


def hex_pattern(svg, color, bg, size=7):
    pid = svg.uid("pat")
    h = size * math.sqrt(3) / 2
    svg.defn(
        f'<pattern id="{pid}" width="{f(size)}" height="{f(h * 2)}" patternUnits="userSpaceOnUse">'
        f'<rect width="{f(size)}" height="{f(h * 2)}" fill="{bg}"/>'
        f'<circle cx="{f(size / 2)}" cy="{f(h / 2)}" r="{f(size * 0.3)}" fill="{color}"/>'
        f'<circle cx="0" cy="{f(h * 1.5)}" r="{f(size * 0.3)}" fill="{color}"/>'
        f'<circle cx="{f(size)}" cy="{f(h * 1.5)}" r="{f(size * 0.3)}" fill="{color}"/>'
        f'</pattern>'
    )
    return f"url(#{pid})"


# ---------------------------------------------------------------- products

def mini_pc_dark():
    svg = Svg()
    W, D, H, R = 230, 230, 62, 26
    iso = fit(box_corners(W, D, H))
    shadow(svg, iso, 0, 0, W, D, R)
    topfill = svg.lingrad([(0, "#3a3e46"), (0.55, "#2b2e34"), (1, "#24272c")], 0, 0, 1, 1, user=False)
    rbox(svg, iso, 0, 0, 0, W, D, H, R, "#26292e", "#17191c", topfill, sheen="#5b616b", sheen_a=0.25, rim="#50555e")
    # top: inset panel with a fine texture and a small logo
    tex = dot_pattern(svg, "#3d4249", size=5, r=0.9)
    svg.add(f'<g transform="{iso.top(H)}">'
            f'<rect x="18" y="18" width="{W - 36}" height="{D - 36}" rx="{R - 12}" fill="#2c2f35"/>'
            f'<rect x="18" y="18" width="{W - 36}" height="{D - 36}" rx="{R - 12}" fill="{tex}" opacity="0.55"/>'
            f'<rect x="18" y="18" width="{W - 36}" height="{D - 36}" rx="{R - 12}" fill="none" stroke="#1c1e22" stroke-width="1.5"/>'
            f'<g transform="translate({W / 2} {D / 2}) rotate(0)">'
            f'<path d="M -14 0 L 0 -14 L 14 0 L 0 14 Z" fill="none" stroke="#6b7280" stroke-width="2.2"/>'
            f'<path d="M -6 0 L 0 -6 L 6 0 L 0 6 Z" fill="#6b7280"/></g>'
            f'</g>')
    # front-left face: ports
    ports = (
        power_button(R + 14, 30, led="#38bdf8")
        + f'<circle cx="{R + 30}" cy="30" r="1.6" fill="#7dd3fc"/>'
        + usb_a(R + 44, 26) + usb_a(R + 70, 26)
        + usb_c(R + 98, 27.5)
        + jack(R + 124, 30)
        + f'<rect x="{R + 140}" y="27" width="14" height="6" rx="1" fill="#0b0c0e" stroke="#3b3f46" stroke-width="0.6"/>'
    )
    svg.add(f'<g transform="{iso.left(D, H)}">{ports}'
            f'<line x1="{R}" y1="{H - 7}" x2="{W - R}" y2="{H - 7}" stroke="#0d0e10" stroke-width="1.5"/></g>')
    # front-right face: vent slots
    vents = "".join(
        f'<rect x="{R + 14 + i * 9}" y="14" width="4.5" height="{H - 30}" rx="2.2" fill="#0b0c0e"/>'
        for i in range(17)
    )
    svg.add(f'<g transform="{iso.right(W, D, H)}">{vents}'
            f'<line x1="{R}" y1="{H - 7}" x2="{D - R}" y2="{H - 7}" stroke="#0a0b0c" stroke-width="1.5"/></g>')
    svg.save("mini-pc-dark.svg")


def mini_pc_silver():
    svg = Svg(bg=("#f9fafb", "#e4e8ee"))
    W, D, H, R = 200, 200, 92, 18
    iso = fit(box_corners(W, D, H))
    shadow(svg, iso, 0, 0, W, D, R)
    # dark base plate
    rbox(svg, iso, 0, 0, 0, W, D, 10, R, "#2a2d31", "#1a1c1f", "#2a2d31", sheen_a=0)
    topfill = svg.lingrad([(0, "#f4f5f7"), (0.45, "#d9dde3"), (0.7, "#eef0f3"), (1, "#c9ced6")], 0, 0, 1, 1, user=False)
    rbox(svg, iso, 0, 0, 10, W, D, H - 10, R, "#d3d7de", "#aeb4bd", topfill, sheen="#ffffff", sheen_a=0.6,
         rim="#f8f9fb", vshade=0.12)
    # brushed top: faint lines
    lines = "".join(
        f'<line x1="{12 + i * 6}" y1="12" x2="{12 + i * 6}" y2="{D - 12}" stroke="#ffffff" stroke-opacity="0.18" stroke-width="1"/>'
        for i in range(30)
    )
    svg.add(f'<g transform="{iso.top(H)}">'
            f'<rect x="10" y="10" width="{W - 20}" height="{D - 20}" rx="{R - 6}" fill="none" stroke="#b8bec7" stroke-width="1"/>'
            f'<clipPath id="tclip"><rect x="10" y="10" width="{W - 20}" height="{D - 20}" rx="{R - 6}"/></clipPath>'
            f'<g clip-path="url(#tclip)">{lines}</g>'
            f'<circle cx="{W / 2}" cy="{D / 2}" r="17" fill="none" stroke="#a3aab4" stroke-width="2"/>'
            f'<circle cx="{W / 2}" cy="{D / 2}" r="7" fill="#a3aab4"/>'
            f'</g>')
    # front: a dark glossy port strip
    ports = (
        f'<rect x="{R + 2}" y="32" width="{W - 2 * R - 4}" height="34" rx="6" fill="#1c1f24"/>'
        + power_button(R + 20, 49, led="#e2e8f0", ring="#94a3b8", face="#2a2e35")
        + usb_a(R + 40, 45, tongue="#3b82f6") + usb_a(R + 66, 45, tongue="#3b82f6")
        + usb_c(R + 94, 46.5) + usb_c(R + 112, 46.5)
        + jack(R + 140, 49)
    )
    svg.add(f'<g transform="{iso.left(D, H)}">{ports}</g>')
    # right side: perforated vent grid
    vent = dot_pattern(svg, "#5d646e", size=6, r=1.6)
    svg.add(f'<g transform="{iso.right(W, D, H)}">'
            f'<rect x="{R + 8}" y="20" width="{D - 2 * R - 16}" height="{H - 44}" rx="6" fill="{vent}"/></g>')
    svg.save("mini-pc-silver.svg")


def sff_desktop():
    svg = Svg(bg=("#f8f9fb", "#e3e7ec"))
    W, D, H, R = 250, 92, 300, 6
    iso = fit(box_corners(W, D, H))
    svg.scale = 0.84
    shadow(svg, iso, 0, 0, W, D, R, spread=18)
    topfill = svg.lingrad([(0, "#3d4148"), (1, "#2e3137")], 0, 0, 1, 1, user=False)
    rbox(svg, iso, 0, 0, 0, W, D, H, R, "#33373d", "#1b1d21", topfill, sheen="#6b7280", sheen_a=0.3, rim="#52575f",
         vshade=0.18)
    # side panel: recessed vent near the rear and a thumb latch
    vent = hex_pattern(svg, "#15171a", "#2a2d33", size=7)
    svg.add(f'<g transform="{iso.left(D, H)}">'
            f'<rect x="14" y="14" width="{W - 36}" height="{H - 28}" rx="4" fill="none" stroke="#292c31" stroke-width="2"/>'
            f'<rect x="26" y="40" width="70" height="150" rx="4" fill="{vent}"/>'
            f'<rect x="24" y="{H - 50}" width="26" height="9" rx="4.5" fill="#1f2226"/>'
            f'</g>')
    # front bezel on the right face
    mesh = hex_pattern(svg, "#0a0b0d", "#22252a", size=6)
    front = (
        f'<rect x="{R}" y="4" width="{D - 2 * R}" height="{H - 8}" rx="3" fill="#1a1c20"/>'
        f'<rect x="{R + 6}" y="16" width="{D - 2 * R - 12}" height="{H - 120}" rx="3" fill="{mesh}"/>'
        f'<rect x="{R + 6}" y="{H - 94}" width="{D - 2 * R - 12}" height="6" rx="2" fill="#0b0c0e"/>'
        + power_button(D / 2, H - 64, r=7, led="#f8fafc", ring="#9ca3af", face="#24272c")
        + f'<rect x="{D / 2 - 22}" y="{H - 46}" width="8" height="18" rx="1" fill="#07080a" stroke="#3b3f46" stroke-width="0.8"/>'
        f'<rect x="{D / 2 - 19.8}" y="{H - 43.5}" width="3" height="13" fill="#2563eb"/>'
        f'<rect x="{D / 2 - 10}" y="{H - 46}" width="8" height="18" rx="1" fill="#07080a" stroke="#3b3f46" stroke-width="0.8"/>'
        f'<rect x="{D / 2 - 7.8}" y="{H - 43.5}" width="3" height="13" fill="#2563eb"/>'
        f'<rect x="{D / 2 + 3}" y="{H - 44}" width="5" height="13" rx="2.5" fill="#07080a" stroke="#3b3f46" stroke-width="0.8"/>'
        + jack(D / 2 + 17, H - 37)
        + f'<circle cx="{D / 2 + 30}" cy="{H - 37}" r="1.5" fill="#e5e7eb"/>'
    )
    svg.add(f'<g transform="{iso.right(W, D, H)}">{front}</g>')
    svg.save("sff-desktop.svg")


def tiny_desktop():
    svg = Svg(bg=("#f8f9fb", "#e2e6eb"))
    W, D, H, R = 235, 225, 44, 5
    iso = fit(box_corners(W, D, H))
    shadow(svg, iso, 0, 0, W, D, R)
    topfill = svg.lingrad([(0, "#33363c"), (1, "#24272b")], 0, 0, 1, 1, user=False)
    rbox(svg, iso, 0, 0, 0, W, D, H, R, "#2b2e33", "#18191c", topfill, sheen="#5f656e", sheen_a=0.25, rim="#4a4f57")
    perf = dot_pattern(svg, "#121315", size=5.5, r=1.5)
    svg.add(f'<g transform="{iso.top(H)}">'
            f'<rect x="14" y="{D - 70}" width="{W - 28}" height="56" rx="3" fill="{perf}"/>'
            f'<rect x="{W - 60}" y="30" width="34" height="6" rx="1" fill="#3d4148"/>'
            f'</g>')
    ports = (
        power_button(R + 20, H / 2, r=6, led="#ef4444", ring="#9ca3af", face="#1c1e22")
        + usb_a(R + 40, H / 2 - 4, tongue="#2563eb") + usb_a(R + 66, H / 2 - 4, tongue="#2563eb")
        + usb_c(R + 94, H / 2 - 2.5)
        + jack(R + 120, H / 2) + jack(R + 132, H / 2)
    )
    vents = "".join(
        f'<rect x="{W - 90 + i * 6}" y="9" width="3" height="{H - 18}" rx="1.5" fill="#111214"/>' for i in range(13)
    )
    svg.add(f'<g transform="{iso.left(D, H)}">{ports}{vents}</g>')
    svg.add(f'<g transform="{iso.right(W, D, H)}">'
            f'<rect x="20" y="{H / 2 - 1}" width="{D - 40}" height="2" fill="#101113"/></g>')
    svg.save("tiny-desktop.svg")


def tower_rgb():
    svg = Svg(bg=("#f6f7fa", "#dfe3ea"))
    W, D, H, R = 250, 120, 300, 5
    iso = fit(box_corners(W, D, H))
    svg.scale = 0.84
    shadow(svg, iso, 0, 0, W, D, R, spread=18)
    topfill = svg.lingrad([(0, "#2b2e34"), (1, "#1c1e22")], 0, 0, 1, 1, user=False)
    rbox(svg, iso, 0, 0, 0, W, D, H, R, "#202227", "#131417", topfill, sheen="#4b5058", sheen_a=0.3, rim="#40444b",
         vshade=0.1)
    mesh_top = hex_pattern(svg, "#0c0d0f", "#25282d", size=6)
    svg.add(f'<g transform="{iso.top(H)}"><rect x="20" y="14" width="{W - 40}" height="{D - 28}" rx="4" fill="{mesh_top}"/></g>')

    # glass side panel with the interior
    rgb = svg.lingrad([(0, "#f43f5e"), (0.25, "#f59e0b"), (0.5, "#22d3ee"), (0.75, "#a855f7"), (1, "#f43f5e")], 0, 0, 1, 1,
                      user=False)
    inner = [f'<rect x="10" y="10" width="{W - 20}" height="{H - 20}" rx="3" fill="#0c0d12"/>']
    # motherboard
    inner.append(f'<rect x="22" y="22" width="150" height="176" rx="2" fill="#16181f"/>')
    inner.append(f'<rect x="30" y="30" width="134" height="160" rx="2" fill="none" stroke="#262a33" stroke-width="1"/>')
    # cpu cooler with RGB ring
    inner.append(f'<circle cx="90" cy="78" r="30" fill="#0d0e12" stroke="{rgb}" stroke-width="3.5"/>')
    inner.append(f'<circle cx="90" cy="78" r="30" fill="none" stroke="{rgb}" stroke-width="7" opacity="0.55" filter="url(#glow)"/>')
    inner.append(f'<circle cx="90" cy="78" r="10" fill="#1f2937"/>')
    # RAM with light bars
    for i in range(4):
        x = 136 + i * 8
        inner.append(f'<rect x="{x}" y="38" width="5" height="82" rx="1" fill="#1f2229"/>')
        inner.append(f'<rect x="{x}" y="38" width="5" height="10" rx="1" fill="{rgb}"/>')
    # GPU
    inner.append(f'<rect x="22" y="134" width="150" height="34" rx="3" fill="#2a2d35"/>')
    inner.append(f'<rect x="22" y="162" width="150" height="6" rx="1" fill="#3d4250"/>')
    inner.append(f'<rect x="30" y="142" width="104" height="4" rx="2" fill="#22d3ee" opacity="0.9"/>')
    inner.append(f'<rect x="30" y="142" width="104" height="4" rx="2" fill="#22d3ee" opacity="0.8" filter="url(#glow)"/>')
    # PSU shroud
    inner.append(f'<rect x="14" y="{H - 82}" width="{W - 28}" height="64" rx="2" fill="#17191e"/>')
    inner.append(f'<rect x="24" y="{H - 70}" width="80" height="8" rx="4" fill="#2a2e36"/>')
    # front intake fans (at the right end of this face, next to the front panel)
    for i in range(3):
        cy = 44 + i * 62
        cx = W - 44
        inner.append(f'<circle cx="{cx}" cy="{cy}" r="27" fill="#0a0b0f"/>')
        inner.append(f'<circle cx="{cx}" cy="{cy}" r="25" fill="none" stroke="{rgb}" stroke-width="8" opacity="0.7" filter="url(#glow)"/>')
        inner.append(f'<circle cx="{cx}" cy="{cy}" r="25" fill="none" stroke="{rgb}" stroke-width="3"/>')
        blades = "".join(
            f'<path d="M {cx} {cy} q 8 -14 0 -20 q -6 6 0 20 Z" fill="#2b2f3a" transform="rotate({a} {cx} {cy})"/>'
            for a in range(0, 360, 45)
        )
        inner.append(blades)
        inner.append(f'<circle cx="{cx}" cy="{cy}" r="6" fill="#111318" stroke="#2b2f3a"/>')
    # glass reflection
    inner.append(f'<path d="M 10 10 L 120 10 L 10 150 Z" fill="#ffffff" opacity="0.07"/>')
    inner.append(f'<path d="M 150 10 L 185 10 L 10 230 L 10 186 Z" fill="#ffffff" opacity="0.05"/>')
    inner.append(f'<rect x="10" y="10" width="{W - 20}" height="{H - 20}" rx="3" fill="none" stroke="#3a3e46" stroke-width="1.5"/>')
    svg.add(f'<g transform="{iso.left(D, H)}">{"".join(inner)}</g>')

    # front panel on the right face: mesh with fan glow behind + RGB strip
    mesh = hex_pattern(svg, "#0a0a0c", "#1f2126", size=6)
    front = [f'<rect x="{R + 2}" y="6" width="{D - 2 * R - 4}" height="{H - 12}" rx="3" fill="#121316"/>']
    glow = svg.lingrad([(0, "#a855f7"), (0.5, "#22d3ee"), (1, "#f43f5e")], 0, 0, 0, 1, user=False)
    front.append(f'<rect x="{R + 14}" y="20" width="{D - 2 * R - 28}" height="{H - 70}" rx="6" fill="{glow}" opacity="0.35" filter="url(#soft)"/>')
    front.append(f'<rect x="{R + 8}" y="14" width="{D - 2 * R - 16}" height="{H - 40}" rx="3" fill="{mesh}" opacity="0.93"/>')
    front.append(f'<rect x="{R + 3}" y="14" width="2.4" height="{H - 40}" rx="1.2" fill="{glow}"/>')
    front.append(f'<rect x="{R + 2}" y="14" width="5" height="{H - 40}" rx="2" fill="{glow}" opacity="0.7" filter="url(#glow)"/>')
    svg.add(f'<g transform="{iso.right(W, D, H)}">{"".join(front)}</g>')
    # top front IO on the top face near the front edge
    svg.add(f'<g transform="{iso.top(H)}">'
            f'<rect x="{W - 16}" y="20" width="10" height="{D - 40}" rx="2" fill="#0e0f12"/>'
            f'<circle cx="{W - 11}" cy="30" r="3" fill="#f8fafc"/>'
            f'<rect x="{W - 14}" y="42" width="6" height="14" rx="1" fill="#2563eb"/>'
            f'<rect x="{W - 14}" y="60" width="6" height="14" rx="1" fill="#2563eb"/>'
            f'</g>')
    svg.save("tower-rgb.svg")


def laptop(name, base_col, base_side_l, base_side_r, deck, key_col, bezel, wallpaper, H=12, tilt=14, mirror=False,
           bg=("#f7f8fa", "#e3e7ec")):
    svg = Svg(bg=bg)
    W, D, R = 340, 225, 12
    L = 215
    th = math.radians(tilt)
    iso = fit(box_corners(W, D, H) + [(u, -L * math.sin(th), H + L * math.cos(th)) for u in (0, W)], target=(300, 300))
    g0 = '<g transform="translate(600 0) scale(-1 1)">' if mirror else "<g>"
    # everything but the background goes in one group (mirrored for variety)
    start = len(svg.body)
    shadow(svg, iso, 0, 0, W, D, R, spread=16, opacity=0.22)
    rbox(svg, iso, 0, 0, 0, W, D, H, R, base_side_l, base_side_r, deck, sheen="#ffffff", sheen_a=0.35, rim=None,
         vshade=0.15)
    # keyboard well and keys on the deck
    keys = [f'<rect x="26" y="22" width="{W - 52}" height="104" rx="5" fill="{key_col}" opacity="0.22"/>']
    rows = 6
    kw, kh, gap = 20.5, 13.5, 3
    for r_ in range(rows):
        y = 27 + r_ * (kh + gap) + (0 if r_ else 0)
        x = 31
        n = 14
        widths = [kw] * n
        if r_ == 0:
            widths = [kw * 0.9] * 14
            khr = kh * 0.7
        else:
            khr = kh
        if r_ == 1:
            widths[-1] = kw * 1.9
            widths = widths[:13]
        if r_ == 2:
            widths = [kw * 1.5] + [kw] * 11 + [kw * 1.4]
        if r_ == 3:
            widths = [kw * 1.8] + [kw] * 10 + [kw * 2.1]
        if r_ == 4:
            widths = [kw * 2.3] + [kw] * 9 + [kw * 2.85]
        if r_ == 5:
            widths = [kw] * 4 + [kw * 5.5] + [kw] * 4
        total = sum(widths) + gap * (len(widths) - 1)
        scale = (W - 62) / total
        for wdt in widths:
            ww = wdt * scale
            keys.append(f'<rect x="{f(x)}" y="{f(y)}" width="{f(ww)}" height="{f(khr)}" rx="2.2" fill="{key_col}"/>')
            x += ww + gap * scale
    keys.append(f'<rect x="{W / 2 - 62}" y="{D - 88}" width="124" height="72" rx="7" fill="{key_col}" opacity="0.16"/>')
    keys.append(f'<rect x="{W / 2 - 62}" y="{D - 88}" width="124" height="72" rx="7" fill="none" stroke="#000" stroke-opacity="0.12"/>')
    keys.append(f'<rect x="{W - 60}" y="{D - 60}" width="3" height="3" rx="1.5" fill="#22c55e"/>')
    svg.add(f'<g transform="{iso.top(H)}">{"".join(keys)}</g>')
    # front lip notch on the left (front) face
    svg.add(f'<g transform="{iso.left(D, H)}"><rect x="{W / 2 - 30}" y="0" width="60" height="2.5" rx="1.2" fill="#000" opacity="0.18"/></g>')
    # right side ports
    svg.add(f'<g transform="{iso.right(W, D, H)}">'
            f'<rect x="60" y="{H / 2 - 2.5}" width="12" height="4" rx="2" fill="#0b0c0e"/>'
            f'<rect x="80" y="{H / 2 - 2.5}" width="12" height="4" rx="2" fill="#0b0c0e"/>'
            f'<circle cx="110" cy="{H / 2 - 0.5}" r="2.2" fill="#0b0c0e"/></g>')
    # lid: hinged at y=0, leaning back by `tilt` degrees
    th = math.radians(tilt)
    # point (u, w): world (u, -(L-w) sin th, H + (L-w) cos th)
    # screen x = cx + C*(u + (L-w) sin th); screen y = cy + S*(u - (L-w) sin th) - H - (L-w) cos th
    a, b = C, S
    c_ = -C * math.sin(th)
    d_ = S * math.sin(th) + math.cos(th)
    e_ = iso.cx + C * L * math.sin(th)
    f_ = iso.cy - S * L * math.sin(th) - H - L * math.cos(th)
    lid = f"matrix({f(a)},{f(b)},{f(c_)},{f(d_)},{f(e_)},{f(f_)})"
    # lid thickness: a slightly offset back plate
    svg.add(f'<g transform="{lid}"><rect x="{2}" y="-4" width="{W - 4}" height="{L + 2}" rx="10" fill="{base_side_r}"/></g>')
    screen = [f'<rect x="0" y="0" width="{W}" height="{L}" rx="10" fill="{bezel}"/>']
    sx0, sy0, sw, sh = 12, 12, W - 24, L - 30
    clip = svg.uid("clip")
    svg.defn(f'<clipPath id="{clip}"><rect x="{sx0}" y="{sy0}" width="{sw}" height="{sh}" rx="2"/></clipPath>')
    screen.append(f'<g clip-path="url(#{clip})">{wallpaper(svg, sx0, sy0, sw, sh)}</g>')
    glare = svg.lingrad([(0, "#ffffff", 0.16), (1, "#ffffff", 0)], 0, 0, 1, 1, user=False)
    screen.append(f'<path d="M {sx0} {sy0} L {sx0 + sw * 0.55} {sy0} L {sx0} {sy0 + sh * 0.9} Z" fill="{glare}"/>')
    screen.append(f'<circle cx="{W / 2}" cy="6.5" r="1.6" fill="#111"/>')
    screen.append(f'<rect x="{W / 2 - 20}" y="{L - 13}" width="40" height="4" rx="2" fill="#ffffff" opacity="0.08"/>')
    svg.add(f'<g transform="{lid}">{"".join(screen)}</g>')
    if mirror:
        body = svg.body[start:]
        del svg.body[start:]
        svg.add(g0 + "\n".join(body) + "</g>")
    svg.save(name)


def wallpaper_waves(svg, x, y, w, h):
    g = svg.lingrad([(0, "#1e3a8a"), (0.5, "#4f46e5"), (1, "#a855f7")], 0, 0, 1, 1, user=False)
    g2 = svg.lingrad([(0, "#38bdf8", 0.85), (1, "#6366f1", 0.2)], 0, 0, 1, 0, user=False)
    g3 = svg.lingrad([(0, "#f0abfc", 0.7), (1, "#818cf8", 0.1)], 0, 0, 1, 0, user=False)
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{g}"/>'
        f'<path d="M {x} {y + h * 0.62} C {x + w * 0.25} {y + h * 0.42}, {x + w * 0.55} {y + h * 0.85}, {x + w} {y + h * 0.5} L {x + w} {y + h} L {x} {y + h} Z" fill="{g2}"/>'
        f'<path d="M {x} {y + h * 0.8} C {x + w * 0.3} {y + h * 0.6}, {x + w * 0.6} {y + h * 1.0}, {x + w} {y + h * 0.72} L {x + w} {y + h} L {x} {y + h} Z" fill="{g3}"/>'
        f'<rect x="{x + w / 2 - 70}" y="{y + h - 11}" width="140" height="8" rx="4" fill="#ffffff" opacity="0.25"/>'
        + "".join(f'<rect x="{x + w / 2 - 60 + i * 17}" y="{y + h - 10}" width="8" height="6" rx="1.5" fill="#ffffff" opacity="0.8"/>' for i in range(8))
    )


def wallpaper_sunset(svg, x, y, w, h):
    sky = svg.lingrad([(0, "#0f172a"), (0.45, "#7c3aed"), (0.8, "#f472b6"), (1, "#fb923c")], 0, 0, 0, 1, user=False)
    hill1 = "#312e81"
    hill2 = "#1e1b4b"
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{sky}"/>'
        f'<circle cx="{x + w * 0.62}" cy="{y + h * 0.66}" r="{h * 0.2}" fill="#fde68a" opacity="0.95"/>'
        f'<path d="M {x} {y + h * 0.7} Q {x + w * 0.2} {y + h * 0.52} {x + w * 0.42} {y + h * 0.72} T {x + w} {y + h * 0.66} L {x + w} {y + h} L {x} {y + h} Z" fill="{hill1}"/>'
        f'<path d="M {x} {y + h * 0.86} Q {x + w * 0.35} {y + h * 0.7} {x + w * 0.65} {y + h * 0.88} T {x + w} {y + h * 0.82} L {x + w} {y + h} L {x} {y + h} Z" fill="{hill2}"/>'
        f'<rect x="{x}" y="{y}" width="{w}" height="7" fill="#000" opacity="0.35"/>'
    )


def nuc_board():
    svg = Svg(bg=("#f5f6f8", "#dde1e7"))
    W, D, Hp = 270, 270, 5
    iso = fit(box_corners(W, D, 60))
    shadow(svg, iso, 0, 0, W, D, 4, spread=12, opacity=0.3)
    pcb = svg.lingrad([(0, "#134e3a"), (1, "#0b3327")], 0, 0, 1, 1, user=False)
    rbox(svg, iso, 0, 0, 0, W, D, Hp, 4, "#0f3d2e", "#0a2a20", pcb, sheen_a=0, vshade=0)
    z = Hp
    # traces and silkscreen
    tr = []
    for i in range(14):
        yy = 30 + i * 16
        tr.append(f'<path d="M 20 {yy} h {60 + (i * 37) % 90} l 10 10 h {40 + (i * 23) % 60}" fill="none" stroke="#1f7a5a" stroke-width="1" opacity="0.7"/>')
    for i in range(8):
        xx = 160 + i * 12
        tr.append(f'<path d="M {xx} 250 v -{40 + (i * 17) % 50} l 8 -8 v -30" fill="none" stroke="#1f7a5a" stroke-width="1" opacity="0.7"/>')
    for (hx, hy) in [(12, 12), (W - 12, 12), (12, D - 12), (W - 12, D - 12)]:
        tr.append(f'<circle cx="{hx}" cy="{hy}" r="6" fill="#d4a93a"/><circle cx="{hx}" cy="{hy}" r="3" fill="#3f3f46"/>')
    tr.append(f'<rect x="150" y="150" width="90" height="90" rx="2" fill="none" stroke="#e5e7eb" stroke-opacity="0.35" stroke-width="1"/>')
    svg.add(f'<g transform="{iso.top(z)}">{"".join(tr)}</g>')

    def box(x0, y0, z0, w, d, h, l, r, t, rr=0, **kw):
        return rbox(svg, iso, x0, y0, z0, w, d, h, rr, l, r, t, sheen_a=kw.get("sheen_a", 0), vshade=kw.get("vshade", 0.12),
                    rim=kw.get("rim"))

    # rear I/O along the back-left edge (x = 0 side) so it stays behind the rest
    io = [(20, 28, "#1f2937", 26), (56, 26, "#9ca3af", 16), (90, 28, "#1f2937", 26), (126, 36, "#c0c4ca", 22),
          (170, 20, "#9ca3af", 12), (198, 20, "#9ca3af", 12)]
    for y0, dd, col, h in io:
        dark = "#4b5563" if col != "#1f2937" else "#111827"
        box(4, y0, z, 26, dd, h, col, dark, col)
    # SO-DIMM slots with modules, lying flat (painted back to front)
    for i in range(2):
        y0 = 40 + i * 34
        box(44, y0, z, 100, 28, 6 + i * 8, "#111827", "#0b0f17", "#1f2937")
        zz = z + 6 + i * 8
        mod = svg.lingrad([(0, "#166534"), (1, "#14532d")], 0, 0, 1, 1, user=False)
        box(50, y0 + 3, zz, 100, 24, 2, "#0f3d20", "#0c2f18", mod)
        chips = "".join(f'<rect x="{58 + k * 26}" y="{y0 + 7}" width="20" height="15" rx="1" fill="#111"/>' for k in range(3))
        label = f'<rect x="58" y="{y0 + 7}" width="20" height="15" rx="1" fill="#e5e7eb"/>' if i == 1 else ""
        gold = f'<rect x="142" y="{y0 + 4}" width="7" height="22" fill="#d4a93a"/>'
        svg.add(f'<g transform="{iso.top(zz + 2)}">{chips}{label}{gold}</g>')
    # blower fan on the cooler
    fan = svg.lingrad([(0, "#2f2f33"), (1, "#18181b")], 0, 0, 1, 1, user=False)
    box(152, 56, z, 96, 70, 20, "#27272a", "#18181b", fan, rr=8, sheen_a=0.2)
    blades = "".join(
        f'<path d="M 200 91 q 14 -22 0 -30 q -8 10 0 30 Z" fill="#3f3f46" transform="rotate({a} 200 91)"/>' for a in range(0, 360, 30)
    )
    svg.add(f'<g transform="{iso.top(z + 20)}"><circle cx="200" cy="91" r="29" fill="#0c0c0e"/>{blades}'
            f'<circle cx="200" cy="91" r="10" fill="#27272a" stroke="#52525b"/></g>')
    # heatsink fin stack in front of the fan outlet
    box(152, 128, z, 96, 40, 18, "#b4b9c0", "#6b7280", "#c7cbd1", rr=3, sheen_a=0.3)
    fins = "".join(f'<rect x="{156 + k * 6}" y="130" width="2.5" height="36" fill="#8b919a"/>' for k in range(15))
    svg.add(f'<g transform="{iso.top(z + 18)}">{fins}</g>')
    # capacitors
    for k in range(5):
        box(158 + k * 18, 178, z, 10, 10, 12, "#a1a1aa", "#52525b", "#d4d4d8", rr=5, sheen_a=0)
    # M.2 SSD
    box(60, 200, z, 14, 24, 5, "#111827", "#0b0f17", "#1f2937")
    ssd = svg.lingrad([(0, "#0f172a"), (1, "#111827")], 0, 0, 1, 1, user=False)
    box(72, 202, z + 2, 160, 20, 2, "#0b1220", "#070b14", ssd)
    svg.add(f'<g transform="{iso.top(z + 4)}">'
            f'<rect x="90" y="204" width="120" height="16" rx="1" fill="#e5e7eb"/>'
            f'<rect x="96" y="207" width="60" height="3" rx="1" fill="#111827"/>'
            f'<rect x="96" y="213" width="40" height="2" rx="1" fill="#6b7280"/>'
            f'<rect x="168" y="207" width="36" height="10" rx="1" fill="#2563eb"/></g>')
    # front headers
    box(150, 236, z, 90, 8, 6, "#1f2937", "#111827", "#111827")
    pins = "".join(f'<circle cx="{154 + k * 6}" cy="240" r="1.2" fill="#d4a93a"/>' for k in range(14))
    svg.add(f'<g transform="{iso.top(z + 6)}">{pins}</g>')
    box(60, 240, z, 40, 12, 8, "#f5f5f4", "#d6d3d1", "#fafaf9")
    svg.save("nuc-board.svg")


def main():
    mini_pc_dark()
    mini_pc_silver()
    sff_desktop()
    tiny_desktop()
    tower_rgb()
    laptop("laptop-open.svg", "#c9cdd3", "#c5cad1", "#9aa1ab",
           "#dcdfe4", "#2b2f36", "#101114", wallpaper_waves, H=13, tilt=12)
    laptop("laptop-thin.svg", "#2a3140", "#384153", "#1f2531",
           "#3a4356", "#171b23", "#07080b", wallpaper_sunset, H=8, tilt=18, mirror=True,
           bg=("#f9f7f5", "#e8e3de"))
    nuc_board()


if __name__ == "__main__":
    main()
