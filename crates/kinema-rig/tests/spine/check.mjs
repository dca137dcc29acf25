// Loads a Kinema Spine export with Spine's own runtime (spine-core 4.2) and compares what
// it poses with what Kinema's renderer drew. Usage: node check.mjs DIR NAME [DUMP.json]
// (DUMP.json: every slot's posed world vertices, for the docs' round-trip pictures).
//
// DIR holds NAME.json, NAME.atlas and expected.json, written by
// crates/kinema-rig/tests/spine_runtime.rs: per animation, sample times with every slot's
// world vertices (x, y pairs, Spine axes) and the hurtbox and hitbox corners. The runtime
// reads some mistakes silently (a wrong vertex layout, a missing parent), so numbers are
// compared, not just the load. Prints one JSON line of results; exits 1 on any mismatch.
import { readFileSync, writeFileSync } from "node:fs";
import * as spine from "@esotericsoftware/spine-core";

const [dir, name, dumpPath] = process.argv.slice(2);
const dump = {};
const TOLERANCE = 1.0; // pixels

const atlas = new spine.TextureAtlas(readFileSync(`${dir}/${name}.atlas`, "utf8"));
const reader = new spine.SkeletonJson(new spine.AtlasAttachmentLoader(atlas));
const data = reader.readSkeletonData(readFileSync(`${dir}/${name}.json`, "utf8"));
const expected = JSON.parse(readFileSync(`${dir}/expected.json`, "utf8"));
const skeleton = new spine.Skeleton(data);
const bounds = new spine.SkeletonBounds();

const failures = [];
let worst = 0;
let compared = 0;

function compare(what, got, want) {
  if (got.length !== want.length) {
    failures.push(`${what}: ${got.length / 2} vertices, expected ${want.length / 2}`);
    return;
  }
  for (let i = 0; i < want.length; i += 2) {
    const d = Math.hypot(got[i] - want[i], got[i + 1] - want[i + 1]);
    worst = Math.max(worst, d);
    compared++;
    if (!(d <= TOLERANCE)) {
      failures.push(`${what}: vertex ${i / 2} at (${got[i].toFixed(2)}, ${got[i + 1].toFixed(2)}), ` +
        `expected (${want[i].toFixed(2)}, ${want[i + 1].toFixed(2)}): ${d.toFixed(3)} px off`);
      return;
    }
  }
}

function slotVertices(slot) {
  const a = slot.getAttachment();
  const out = new Array(a.worldVerticesLength).fill(0);
  a.computeWorldVertices(slot, 0, a.worldVerticesLength, out, 0, 2);
  return out;
}

const names = Object.keys(expected.animations);
for (const animName of names) {
  const animation = data.findAnimation(animName);
  if (!animation) {
    failures.push(`animation ${animName} is missing`);
    continue;
  }
  const want = expected.animations[animName];
  want.times.forEach((time, k) => {
    skeleton.setToSetupPose();
    // Spine keeps key times as float32, which may round a frame's key just past the
    // frame's exact time; a tenth of a millisecond later is surely on the frame (bones
    // move far less than a pixel in that time).
    const at = time + 1e-4;
    animation.apply(skeleton, 0, at, false, null, 1, spine.MixBlend.setup, spine.MixDirection.mixIn);
    skeleton.updateWorldTransform(spine.Physics.none);
    for (const [slotName, frames] of Object.entries(want.slots)) {
      const slot = skeleton.findSlot(slotName);
      if (!slot || !slot.getAttachment()) {
        failures.push(`${animName}@${time}: slot ${slotName} has no attachment`);
        continue;
      }
      const got = slotVertices(slot);
      compare(`${animName}@${time} ${slotName}`, got, frames[k]);
      ((dump[animName] ??= [])[k] ??= {})[slotName] = got;
    }
    bounds.update(skeleton, true);
    for (const box of ["hurtbox", "hitbox"]) {
      const wantBox = want[box] ? want[box][k] : null;
      const i = bounds.boundingBoxes.findIndex((b) => b.name === box);
      if (wantBox === null || wantBox === undefined) {
        if (i >= 0 && box === "hitbox") failures.push(`${animName}@${time}: hitbox shown off its active frames`);
        continue;
      }
      if (i < 0) {
        failures.push(`${animName}@${time}: no ${box}`);
        continue;
      }
      compare(`${animName}@${time} ${box}`, Array.from(bounds.polygons[i]), wantBox);
    }
  });
  const events = animation.timelines.filter((t) => t instanceof spine.EventTimeline)
    .flatMap((t) => t.events.map((e) => `${e.time.toFixed(4)} ${e.data.name} ${e.stringValue ?? ""}`.trim()));
  const wantEvents = want.events.map((e) => `${e[0].toFixed(4)} ${e[1]} ${e[2] ?? ""}`.trim());
  if (JSON.stringify(events) !== JSON.stringify(wantEvents)) {
    failures.push(`${animName}: events ${JSON.stringify(events)}, expected ${JSON.stringify(wantEvents)}`);
  }
}

if (dumpPath) writeFileSync(dumpPath, JSON.stringify(dump));
console.log(JSON.stringify({ animations: names.length, vertices: compared, worst_px: worst, failures: failures.slice(0, 20) }));
process.exit(failures.length === 0 && compared > 0 ? 0 : 1);
