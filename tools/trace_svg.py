#!/usr/bin/env python3
"""Draws a GORO_TRACE file (Chrome trace-event JSON) as an SVG timeline: one lane per thread,
a box per running span of a goroutine (coloured by goroutine), ticks for its events.

    GORO_TRACE=trace.json GOMAXPROCS=2 build/debug/samples/fan_out_fan_in
    python3 tools/trace_svg.py trace.json -o docs/trace.svg [--from MS] [--to MS]

Pure Python (no matplotlib): for the README's picture and for machines without a browser.
Perfetto's UI (ui.perfetto.dev) or chrome://tracing open the same file interactively.

Spans narrower than a pixel are merged into grey "busy" boxes, and each lane shows at most
one tick of a kind per pixel, so a trace of a million events still makes a small file.
"""

import argparse
import colorsys
import html
import json
import sys

LANE_H = 34  # a lane: spans above, event ticks below
SPAN_H = 20
LABEL_W = 150
TICK_KINDS = [  # instant event name, colour, legend
    ("created", "#1f77b4", "created"),
    ("blocked", "#d62728", "blocked"),
    ("woken", "#2ca02c", "woken"),
    ("ended", "#555555", "ended"),
    ("steal", "#ff7f0e", "steal"),
    ("timer fired", "#9467bd", "timer fired"),
]


def goroutine_colour(gid):
    h = (gid * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(h, 0.62, 0.55)
    return "#%02x%02x%02x" % (int(r * 255), int(g * 255), int(b * 255))


def nice_step(span_us, ticks=8):
    raw = span_us / ticks
    step = 1.0
    while step * 10 <= raw:
        step *= 10
    while step > raw and step > 1e-3:
        step /= 10
    for m in (1, 2, 5, 10):
        if step * m >= raw:
            return step * m
    return step * 10


def fmt_time(us):
    if us >= 1000:
        return "%g ms" % round(us / 1000, 3)
    return "%g us" % round(us, 3)


def load(path):
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    names, order = {}, {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "thread_sort_index":
            order[e["tid"]] = e["args"]["sort_index"]
    return doc, [e for e in events if e.get("ph") != "M"], names, order


def render(doc, events, names, order, t_from, t_to, width, title):
    spans = [e for e in events if e["ph"] == "X"]
    if t_from is None:
        t_from = min((e["ts"] for e in events), default=0.0)
    if t_to is None:
        t_to = max((e["ts"] + e.get("dur", 0) for e in events), default=t_from + 1)
    t_to = max(t_to, t_from + 1e-3)
    plot_w = width - LABEL_W - 20
    scale = plot_w / (t_to - t_from)

    def x(ts):
        return LABEL_W + (ts - t_from) * scale

    in_window = [e for e in events if e["ts"] + e.get("dur", 0) >= t_from and e["ts"] <= t_to]
    tids = sorted({e["tid"] for e in in_window} | {t for t, n in names.items()
                                                     if n.startswith("worker ")},
                  key=lambda t: (order.get(t, 1 << 30), t))
    top = 50
    height = top + LANE_H * len(tids) + 70
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="14" font-weight="bold">%s</text>' % html.escape(title)]
    # Time axis.
    step = nice_step(t_to - t_from)
    first = (int(t_from / step) + 1) * step if t_from % step else t_from
    t = first
    while t <= t_to + 1e-9:
        xx = x(t)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (xx, top - 8, xx, top + LANE_H * len(tids)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>'
                   % (xx, top - 12, fmt_time(t - t_from)))
        t += step
    for i, tid in enumerate(tids):
        y = top + i * LANE_H
        if i % 2:
            out.append('<rect x="0" y="%d" width="%d" height="%d" fill="#f6f6f6"/>'
                       % (y, width, LANE_H))
        out.append('<text x="8" y="%d">%s</text>'
                   % (y + SPAN_H - 5, html.escape(names.get(tid, "thread %s" % tid))))
        lane = [e for e in in_window if e["tid"] == tid]
        # Spans: wide ones drawn one by one, runs of sub-pixel ones merged.
        busy = None

        def flush_busy():
            if busy:
                out.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="#999">'
                           '<title>%d short spans</title></rect>'
                           % (busy[0], y + 2, max(busy[1] - busy[0], 0.6), SPAN_H, busy[2]))

        for e in sorted((e for e in lane if e["ph"] == "X"), key=lambda e: e["ts"]):
            x0 = max(x(e["ts"]), LABEL_W)
            x1 = min(x(e["ts"] + e["dur"]), LABEL_W + plot_w)
            if x1 - x0 < 1.0:
                if busy and x0 <= busy[1] + 1.0:
                    busy = (busy[0], max(busy[1], x1), busy[2] + 1)
                else:
                    flush_busy()
                    busy = (x0, x1, 1)
                continue
            flush_busy()
            busy = None
            gid = e["args"]["g"]
            tip = "%s: %s, then %s" % (e["name"], fmt_time(e["dur"]), e["args"].get("then", ""))
            out.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" stroke="white" '
                       'stroke-width="0.5"><title>%s</title></rect>'
                       % (x0, y + 2, x1 - x0, SPAN_H, goroutine_colour(gid), html.escape(tip)))
            if x1 - x0 > 7 * len(e["name"]):
                out.append('<text x="%.1f" y="%d" fill="black">%s</text>'
                           % (x0 + 3, y + SPAN_H - 3, html.escape(e["name"])))
        flush_busy()
        # Event ticks under the spans, at most one per kind per pixel.
        for k, (name, colour, _) in enumerate(TICK_KINDS):
            seen = set()
            for e in lane:
                if e["ph"] != "i" or e["name"] != name:
                    continue
                px = round(x(e["ts"]), 0)
                if px in seen or not LABEL_W <= px <= LABEL_W + plot_w:
                    continue
                seen.add(px)
                out.append('<line x1="%.0f" y1="%d" x2="%.0f" y2="%d" stroke="%s"/>'
                           % (px, y + SPAN_H + 4, px, y + LANE_H - 2, colour))
    # Legend.
    y = top + LANE_H * len(tids) + 22
    xx = 10
    out.append('<text x="%d" y="%d">boxes: a goroutine running (one colour per goroutine; '
               'grey: many short spans); ticks:</text>' % (xx, y))
    y += 18
    for name, colour, label in TICK_KINDS:
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>'
                   % (xx, y - 9, xx, y + 1, colour))
        out.append('<text x="%d" y="%d">%s</text>' % (xx + 6, y, label))
        xx += 20 + 7 * len(label)
    other = doc.get("otherData", {}) if isinstance(doc, dict) else {}
    if other.get("dropped"):
        out.append('<text x="%d" y="%d" fill="#d62728">%d events dropped (cap %d per thread)'
                   '</text>' % (xx + 10, y, other["dropped"], other.get("cap", 0)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", help="the JSON file GORO_TRACE wrote")
    p.add_argument("-o", "--out", help="the SVG to write (default: stdout)")
    p.add_argument("--from", dest="t_from", type=float, help="window start, ms into the trace")
    p.add_argument("--to", dest="t_to", type=float, help="window end, ms into the trace")
    p.add_argument("--width", type=int, default=1000, help="pixels (default 1000)")
    p.add_argument("--title", default=None, help="the picture's title")
    a = p.parse_args()
    doc, events, names, order = load(a.trace)
    start = min((e["ts"] for e in events), default=0.0)
    t_from = start + a.t_from * 1000 if a.t_from is not None else None
    t_to = start + a.t_to * 1000 if a.t_to is not None else None
    svg = render(doc, events, names, order, t_from, t_to, a.width, a.title or a.trace)
    if a.out:
        with open(a.out, "w") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)


if __name__ == "__main__":
    main()
