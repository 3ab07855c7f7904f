"""Draws the brand icons for the home-assistant/brands repository with Pillow.

    .venv/bin/python docs/brands/make_icons.py

writes docs/brands/webasto_chargeconnect/icon.png (256 x 256) and icon@2x.png (512 x 512):
a wallbox with a lightning bolt and its cable with a plug, on a transparent background. Our
own drawing (no manufacturer logo); a mid blue that reads on light and dark themes. Drawn at
2048 px and scaled down for smooth edges; trimmed to the drawing, as the brands repository
asks.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "webasto_chargeconnect"
SIZE = 2048
BLUE = (30, 136, 229, 255)  # Material blue 600
WHITE = (255, 255, 255, 255)
CABLE = 120  # cable width at 2048 px


def draw() -> Image.Image:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)

    # The wallbox: a tall rounded body with a white bolt.
    left, top, right, bottom = 240, 120, 1240, 1900
    pen.rounded_rectangle((left, top, right, bottom), radius=230, fill=BLUE)
    cx, cy = (left + right) // 2, (top + bottom) // 2 - 40
    bolt = [
        (cx + 40, cy - 560),
        (cx + 250, cy - 560),
        (cx + 90, cy - 90),
        (cx + 280, cy - 90),
        (cx - 110, cy + 560),
        (cx + 10, cy + 80),
        (cx - 220, cy + 80),
    ]
    pen.polygon(bolt, fill=WHITE)

    # The cable: out of the body's right side low down, round a bend, up to the plug.
    y_out = 1620
    x_up = 1600
    bend = 220
    half = CABLE // 2
    pen.rectangle((right - 10, y_out - half, x_up - bend, y_out + half), fill=BLUE)
    # The bend: a quarter ring centred on the cable's centre line (a filled quarter disc with
    # its inner part cleared: ImageDraw writes the transparent pixels, it does not blend).
    corner_x, corner_y = x_up - bend, y_out - bend
    for radius, colour in ((bend + half, BLUE), (bend - half, (0, 0, 0, 0))):
        pen.pieslice(
            (corner_x - radius, corner_y - radius, corner_x + radius, corner_y + radius),
            start=0,
            end=90,
            fill=colour,
        )
    cable_top = 980
    pen.rectangle((x_up - half, cable_top, x_up + half, y_out - bend), fill=BLUE)

    # The plug: a rounded head with two pins, on top of the cable.
    head_w, head_h = 340, 380
    head = (x_up - head_w // 2, cable_top - head_h + 40, x_up + head_w // 2, cable_top + 40)
    pen.rounded_rectangle(head, radius=70, fill=BLUE)
    pin_w, pin_h = 66, 190
    for dx in (-72, 72):
        x = x_up + dx
        pen.rounded_rectangle(
            (x - pin_w // 2, head[1] - pin_h, x + pin_w // 2, head[1] + 20),
            radius=pin_w // 2,
            fill=BLUE,
        )
    return image


def square(image: Image.Image, margin: float = 0.02) -> Image.Image:
    """Trimmed to the drawing, centred on a square transparent canvas."""
    box = image.getbbox()
    assert box is not None
    cropped = image.crop(box)
    side = round(max(cropped.size) * (1 + 2 * margin))
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(cropped, ((side - cropped.width) // 2, (side - cropped.height) // 2))
    return canvas


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    art = square(draw())
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        icon = art.resize((size, size), Image.Resampling.LANCZOS)
        icon.save(OUT / name, optimize=True)
        print(f"{OUT / name}: {size}x{size}")


if __name__ == "__main__":
    main()
