"""Draws the sample characters the Kenney set lacks, for the rig engine's tests and docs, in
the flat cartoon style of the Kenney samples: four-legged animals seen from the side (a
horse, a dog and a cat) and a knight in profile, all facing right.

Each is drawn at 4x with polygons and ellipses and box-filtered down, so edges carry the
same anti-aliasing a hand-made sprite has. Far legs are a shade darker than near legs, as
artists draw them. Run from the repository root (needs Pillow):

    python3 tools/samples/make_characters.py samples/characters

The output is deterministic; the PNGs are committed (CC0, like the other samples).
"""
import sys
from pathlib import Path

from PIL import Image, ImageDraw

S = 4  # supersampling factor


def shade(c, k):
    return tuple(max(0, min(255, int(v * k))) for v in c[:3]) + (255,)


class Canvas:
    def __init__(self, w, h, zoom=1.0):
        self.w, self.h, self.z = w, h, zoom
        self.im = Image.new("RGBA", (w * S, h * S), (0, 0, 0, 0))
        self.d = ImageDraw.Draw(self.im)

    def ellipse(self, cx, cy, rx, ry, col):
        k = S * self.z
        self.d.ellipse([(cx - rx) * k, (cy - ry) * k, (cx + rx) * k, (cy + ry) * k], fill=col)

    def poly(self, pts, col):
        k = S * self.z
        self.d.polygon([(x * k, y * k) for x, y in pts], fill=col)

    def limb(self, x0, y0, x1, y1, r0, r1, col):
        """A tapered segment from (x0,y0) radius r0 to (x1,y1) radius r1, round ends."""
        import math

        dx, dy = x1 - x0, y1 - y0
        n = math.hypot(dx, dy) or 1.0
        px, py = -dy / n, dx / n
        self.poly([(x0 + px * r0, y0 + py * r0), (x1 + px * r1, y1 + py * r1),
                   (x1 - px * r1, y1 - py * r1), (x0 - px * r0, y0 - py * r0)], col)
        self.ellipse(x0, y0, r0, r0, col)
        self.ellipse(x1, y1, r1, r1, col)

    def save(self, path):
        self.im.resize((self.w, self.h), Image.BOX).save(path, optimize=True)


def leg(c, hip, knee, foot, r_top, r_low, col, hoof=None):
    c.limb(*hip, *knee, r_top, r_low * 1.1, col)
    c.limb(*knee, *foot, r_low * 1.1, r_low, col)
    if hoof:
        c.poly([(foot[0] - r_low - 0.5, foot[1] - 1.5), (foot[0] + r_low + 0.8, foot[1] - 1.5),
                (foot[0] + r_low + 1.2, foot[1] + 2.5), (foot[0] - r_low - 0.5, foot[1] + 2.5)], hoof)


def horse(path):
    body, dark, mane, hoof = (176, 112, 68, 255), (150, 92, 54, 255), (70, 46, 34, 255), (60, 56, 60, 255)
    far = shade(body, 0.82)
    c = Canvas(176, 144)
    g = 139  # ground line (bottom of hooves)
    # Far legs first (behind the body).
    leg(c, (48, 86), (44, 110), (46, g - 3), 6, 3.2, far, shade(hoof, 0.8))
    leg(c, (128, 86), (132, 110), (132, g - 3), 5.5, 3.2, far, shade(hoof, 0.8))
    # Tail.
    c.poly([(36, 66), (26, 74), (20, 92), (22, 112), (28, 114), (30, 96), (38, 78)], mane)
    # Body: barrel, rump and chest.
    c.ellipse(88, 78, 50, 20, body)
    c.ellipse(46, 74, 17, 19, body)
    c.ellipse(128, 76, 16, 19, body)
    c.ellipse(88, 88, 44, 9, dark)
    c.ellipse(88, 84, 46, 10, body)
    # Neck and head.
    c.poly([(120, 70), (134, 30), (150, 24), (154, 34), (146, 80)], body)
    c.poly([(126, 62), (132, 30), (142, 24), (134, 66)], mane)
    c.ellipse(152, 30, 12, 10, body)
    c.limb(152, 32, 168, 44, 9, 6.5, body)
    c.ellipse(166, 46, 3, 2, dark)
    c.poly([(143, 22), (145, 10), (150, 21)], body)
    c.ellipse(152, 27, 2, 2, (30, 24, 24, 255))
    # Near legs.
    leg(c, (58, 88), (58, 112), (60, g - 3), 7, 3.5, body, hoof)
    leg(c, (120, 88), (120, 112), (118, g - 3), 6.5, 3.5, body, hoof)
    c.save(path)


def dog(path):
    body, light, dark = (214, 160, 96, 255), (244, 222, 186, 255), (132, 88, 52, 255)
    far = shade(body, 0.82)
    c = Canvas(132, 100)
    g = 96
    leg(c, (36, 64), (34, 78), (37, g - 2), 6, 3.6, far)
    leg(c, (94, 64), (96, 78), (96, g - 2), 5.5, 3.6, far)
    c.limb(22, 54, 10, 32, 4.5, 3, body)  # tail, up
    c.ellipse(62, 56, 40, 16, body)
    c.ellipse(66, 64, 30, 8, light)
    c.poly([(88, 50), (96, 30), (110, 28), (112, 56), (98, 66)], body)
    c.ellipse(108, 30, 13, 12, body)
    c.limb(108, 34, 124, 38, 8, 6, light)
    c.ellipse(125, 36, 3.2, 2.6, (40, 30, 30, 255))
    c.poly([(98, 22), (92, 26), (94, 46), (100, 44), (104, 26)], dark)  # ear
    c.ellipse(112, 27, 2, 2, (30, 24, 24, 255))
    leg(c, (42, 66), (42, 80), (44, g - 2), 7, 4, body)
    leg(c, (88, 66), (88, 80), (88, g - 2), 6.5, 4, body)
    c.ellipse(44, g - 2, 5, 2.5, light)
    c.ellipse(89, g - 2, 5, 2.5, light)
    c.save(path)


def cat(path):
    body, dark, light = (96, 104, 120, 255), (62, 68, 82, 255), (214, 218, 228, 255)
    far = shade(body, 0.8)
    c = Canvas(128, 92)
    g = 89
    leg(c, (34, 60), (31, 74), (34, g - 2), 5, 3, far)
    leg(c, (90, 60), (92, 74), (92, g - 2), 4.5, 3, far)
    c.limb(20, 52, 12, 34, 3.2, 3, body)  # tail, curled up
    c.limb(12, 34, 16, 18, 3, 2.8, body)
    c.limb(16, 18, 24, 12, 2.8, 2.6, dark)
    c.ellipse(58, 54, 36, 13, body)
    c.ellipse(62, 60, 26, 6, light)
    c.poly([(84, 48), (92, 34), (104, 34), (104, 56), (92, 62)], body)
    c.ellipse(104, 36, 12, 11, body)
    c.ellipse(113, 42, 6, 4.5, light)
    c.poly([(95, 29), (96, 15), (104, 26)], body)
    c.poly([(106, 26), (113, 14), (114, 29)], body)
    c.ellipse(108, 33, 2, 2.4, (120, 200, 90, 255))
    c.ellipse(118, 41, 1.6, 1.3, (200, 120, 130, 255))
    leg(c, (40, 62), (40, 76), (42, g - 2), 5.5, 3.3, body)
    leg(c, (84, 62), (84, 76), (85, g - 2), 5, 3.3, body)
    c.save(path)


def knight(path):
    """A knight in profile, in rounded shapes like the Kenney sprites (no sharp corners),
    about as large on the canvas as the Kenney humanoids (drawn on a 72x128 grid, x1.25)."""
    armour, dark, skin, plume = (168, 176, 190, 255), (112, 118, 132, 255), (236, 190, 150, 255), (196, 52, 52, 255)
    far = shade(armour, 0.78)
    c = Canvas(90, 160, zoom=1.25)
    g = 125
    # Far arm and far leg behind the body.
    c.limb(33, 52, 27, 70, 5, 4.5, far)
    c.limb(27, 70, 27, 84, 4.5, 4.5, far)
    c.ellipse(27, 87, 5, 5, shade(skin, 0.8))
    c.limb(32, 86, 27, 104, 6, 5.2, far)
    c.limb(27, 104, 26, g - 7, 5.2, 4.8, far)
    c.limb(24, g - 4, 33, g - 4, 3.8, 3.8, shade(dark, 0.8))
    # Torso with a rounded mail skirt, and the belt.
    c.limb(35, 50, 35, 78, 12, 12.5, armour)
    c.ellipse(35, 86, 13.5, 8, shade(armour, 0.9))
    c.limb(24, 80, 46, 80, 3, 3, dark)
    # Near leg, forward, with the boot pointing right.
    c.limb(38, 88, 44, 106, 6.5, 5.5, armour)
    c.limb(44, 106, 44, g - 7, 5.5, 5, armour)
    c.limb(41, g - 4, 53, g - 4, 4, 4, dark)
    # Head: helmet in profile with a visor slit, face showing at the front, a plume.
    c.ellipse(36, 30, 15, 16, armour)
    c.limb(44, 33, 48, 33, 6, 6, skin)
    c.limb(42, 29, 50, 29, 1.6, 1.6, dark)
    c.limb(26, 19, 37, 13, 4, 3, plume)
    # Near arm hanging forward of the body, the hand clear of the skirt.
    c.limb(39, 52, 48, 68, 5.5, 5, armour)
    c.limb(48, 68, 57, 80, 5, 4.5, armour)
    c.ellipse(59, 84, 5, 5, skin)
    c.save(path)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "samples/characters")
    out.mkdir(parents=True, exist_ok=True)
    horse(out / "horse.png")
    dog(out / "dog.png")
    cat(out / "cat.png")
    knight(out / "knight_side.png")


if __name__ == "__main__":
    main()
