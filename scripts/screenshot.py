#!/usr/bin/env python3
"""Takes the README's screenshot from a real terminal: runs devloop's TUI on
a copy of the demo workspace inside tmux, makes an edit, captures the screen
with its colours (capture-pane -e) and draws it into assets/screenshot.png.

Needs tmux, node, Pillow (pip install pillow) and the DejaVu Sans Mono font.
Run from the repository root after `cargo build --release`:
    python3 scripts/screenshot.py
"""
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
WIDTH, HEIGHT, SIZE = 132, 34, 15
BG, FG = (24, 24, 28), (215, 215, 215)
PALETTE = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200), (188, 63, 188),
    (17, 168, 205), (204, 204, 204), (118, 118, 118), (241, 76, 76), (35, 209, 139),
    (245, 245, 67), (59, 142, 234), (214, 112, 214), (41, 184, 219), (242, 242, 242),
]


def colour_256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return (level, level, level)


def apply_sgr(state, params):
    codes = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", params)] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            state.update(fg=None, bg=None, bold=False, dim=False, reverse=False)
        elif c == 1:
            state["bold"] = True
        elif c == 2:
            state["dim"] = True
        elif c == 7:
            state["reverse"] = True
        elif c == 22:
            state.update(bold=False, dim=False)
        elif c == 27:
            state["reverse"] = False
        elif 30 <= c <= 37:
            state["fg"] = PALETTE[c - 30]
        elif 90 <= c <= 97:
            state["fg"] = PALETTE[c - 90 + 8]
        elif 40 <= c <= 47:
            state["bg"] = PALETTE[c - 40]
        elif 100 <= c <= 107:
            state["bg"] = PALETTE[c - 100 + 8]
        elif c == 39:
            state["fg"] = None
        elif c == 49:
            state["bg"] = None
        elif c in (38, 48) and i + 1 < len(codes):
            key = "fg" if c == 38 else "bg"
            if codes[i + 1] == 5 and i + 2 < len(codes):
                state[key] = colour_256(codes[i + 2])
                i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                state[key] = tuple(codes[i + 2 : i + 5])
                i += 4
        i += 1


def render(text, out):
    font, bold = ImageFont.truetype(FONT, SIZE), ImageFont.truetype(BOLD, SIZE)
    cell_w, cell_h = round(font.getlength("M")), round(SIZE * 1.25)
    image = Image.new("RGB", (cell_w * WIDTH + 20, cell_h * HEIGHT + 20), BG)
    draw = ImageDraw.Draw(image)
    state = dict(fg=None, bg=None, bold=False, dim=False, reverse=False)
    for row, line in enumerate(text.split("\n")[:HEIGHT]):
        col = 0
        for token in re.findall(r"\x1b\[([0-9;:]*)m|(.)", line):
            if token[1] == "":
                apply_sgr(state, token[0])
                continue
            fg, bg = state["fg"] or FG, state["bg"]
            if state["reverse"]:
                fg, bg = bg or BG, fg
            if state["dim"]:
                fg = tuple(v * 3 // 5 for v in fg)
            x, y = 10 + col * cell_w, 10 + row * cell_h
            if bg:
                draw.rectangle([x, y, x + cell_w, y + cell_h], fill=bg)
            draw.text((x, y + 2), token[1], font=bold if state["bold"] else font, fill=fg)
            col += 1
    image.save(out)


def tmux(*args):
    return subprocess.run(["tmux", "-L", "devloop-shot", *args], capture_output=True, text=True).stdout


def wait_for(text, limit=30):
    deadline = time.time() + limit
    while time.time() < deadline:
        if text in tmux("capture-pane", "-p"):
            return
        time.sleep(0.1)
    sys.exit(f"the screen never showed {text!r}:\n{tmux('capture-pane', '-p')}")


def main():
    binary = ROOT / "target/release/devloop"
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        shutil.copytree(ROOT / "assets/demo", demo, ignore=shutil.ignore_patterns("dist", "tmp", ".devloop"))
        tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), f"exec {binary} -c {demo}/watch.toml")
        try:
            wait_for("api ✔ ready")
            source = demo / "libs/greeting/index.js"
            source.write_text(source.read_text().replace("Hello", "Hi"))
            wait_for("build #2 ✔ ok")
            wait_for("restarts 1 · up")
            tmux("send-keys", "Tab")
            time.sleep(1.2)
            render(tmux("capture-pane", "-e", "-p"), ROOT / "assets/screenshot.png")
        finally:
            tmux("kill-server")
    print("wrote assets/screenshot.png")


if __name__ == "__main__":
    main()
