#!/usr/bin/env python3
"""Makes a small BVH fixture from a longer capture: skips the first START seconds, keeps
every Nth frame (so the frame time grows N times) and at most SECONDS seconds, leaving
the hierarchy as is.

    python3 tools/bvh/decimate_bvh.py IN.bvh OUT.bvh --start 3 --every 4 --seconds 3.5

samples/bvh/wave_hello.bvh was made this way (from 3 s on, every 4th frame, 3.5 s;
the first seconds are the performer's calibration T-pose) from
examples/bvh/fair1/wave_hello.bvh of facebookresearch/AnimatedDrawings (MIT licence,
see samples/bvh/LICENSE-AnimatedDrawings.txt).
"""
import argparse


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("--start", type=float, default=0.0, help="seconds to skip")
    ap.add_argument("--every", type=int, default=4, help="keep every Nth frame")
    ap.add_argument("--seconds", type=float, default=3.5, help="keep at most this long")
    args = ap.parse_args()
    lines = open(args.source, encoding="utf-8").read().splitlines()
    motion = next(i for i, l in enumerate(lines) if l.strip().upper() == "MOTION")
    frame_time = float(lines[motion + 2].split(":")[1])
    frames = [l for l in lines[motion + 3:] if l.strip()]
    frames = frames[int(round(args.start / frame_time)):]
    kept = frames[:: args.every]
    new_time = frame_time * args.every
    kept = kept[: int(args.seconds / new_time) + 1]
    out = lines[:motion] + ["MOTION", f"Frames: {len(kept)}", f"Frame Time: {new_time:.6f}"]
    out += [" ".join(f"{float(v):.4f}" for v in l.split()) for l in kept]
    with open(args.target, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
