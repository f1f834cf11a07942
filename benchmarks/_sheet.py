"""Contact sheets of the benchmark and demo scripts (``quality.py --sheet``, ``scripts/finetune_sheet.py``):
rows of same-height tiles under a caption, with section titles between them. Pillow only."""

from __future__ import annotations

from PIL import Image, ImageDraw

CAPTION, HEADER = 16, 22  # pixels: a row's caption line, a section title's line
MIN_WIDTH = 480

Row = tuple[str, "list[Image.Image] | None"]  # (caption, tiles) or (section title, None)


def tile(image: Image.Image, height: int) -> Image.Image:
    """``image`` as RGB, ``height`` pixels high (aspect kept)."""
    width = max(1, round(image.width * height / image.height))
    return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def draw_sheet(rows: list[Row], tile_height: int, gap: int) -> Image.Image:
    """The rows top to bottom on white: titles in red, captions in black above their tiles."""
    width = max([gap + sum(t.width + gap for t in tiles) for _, tiles in rows if tiles] + [MIN_WIDTH])
    height = gap + sum(HEADER if tiles is None else CAPTION + tile_height + gap for _, tiles in rows)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    y = gap
    for text, tiles in rows:
        if tiles is None:
            draw.text((gap, y + 4), text, fill=(150, 0, 0))
            y += HEADER
            continue
        draw.text((gap, y), text, fill="black")
        x, y = gap, y + CAPTION
        for image in tiles:
            sheet.paste(image, (x, y))
            x += image.width + gap
        y += tile_height + gap
    return sheet
