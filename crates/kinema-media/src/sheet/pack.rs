//! Deciding where every frame goes: trimming, de-duplication and the row layout.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use kinema_core::{Error, Frame, FrameGameplay, Result};

use super::names::{check_animation_name, frame_durations_ms, frame_name};
use super::{Animation, Rect, SheetAnimation, SheetFrame, SheetLayout, SheetOptions};

/// Largest sheet side we produce: what current GPUs and Unity/Godot import without
/// downscaling. Bigger sheets would silently lose resolution in the engine.
pub const MAX_SHEET_SIDE: u64 = 16384;

/// One stored picture on the sheet: a region of one source frame.
struct Slot {
    animation: usize,
    index: usize,
    /// The stored region inside the source frame.
    crop: Rect,
}

/// Plans the sheet: which pixels of which frame go where, and each frame's metadata.
///
/// Rows are filled in animation order so a sheet stays readable to a person; with
/// `columns: None` every row length is tried and the one with the shortest longest side
/// (after power-of-two rounding when asked) wins, ties going to the smaller area.
pub fn layout_sheet(animations: &[Animation], opts: &SheetOptions) -> Result<SheetLayout> {
    check_animations(animations)?;
    if opts.columns == Some(0) {
        return Err(Error::invalid(
            "--columns 0 leaves no room for frames",
            "use --columns 1 or more, or leave it out",
        ));
    }

    let mut slots: Vec<Slot> = Vec::new();
    let mut frame_slot: Vec<usize> = Vec::new();
    let mut seen: HashMap<(u32, u32, u64), Vec<usize>> = HashMap::new();
    for (ai, anim) in animations.iter().enumerate() {
        for (fi, frame) in anim.clip.frames.iter().enumerate() {
            let crop = if opts.trim {
                trimmed_box(frame)
            } else {
                Rect {
                    x: 0,
                    y: 0,
                    w: frame.width,
                    h: frame.height,
                }
            };
            let slot = if opts.dedupe {
                let key = (crop.w, crop.h, hash_region(frame, crop));
                let candidates = seen.entry(key).or_default();
                let same = candidates.iter().copied().find(|&s| {
                    let other = &slots[s];
                    same_pixels(
                        frame,
                        crop,
                        &animations[other.animation].clip.frames[other.index],
                        other.crop,
                    )
                });
                match same {
                    Some(s) => s,
                    None => {
                        candidates.push(slots.len());
                        slots.push(Slot {
                            animation: ai,
                            index: fi,
                            crop,
                        });
                        slots.len() - 1
                    }
                }
            } else {
                slots.push(Slot {
                    animation: ai,
                    index: fi,
                    crop,
                });
                slots.len() - 1
            };
            frame_slot.push(slot);
        }
    }

    let sizes: Vec<(u64, u64)> = slots
        .iter()
        .map(|s| {
            (
                u64::from(s.crop.w) + 2 * u64::from(opts.extrude),
                u64::from(s.crop.h) + 2 * u64::from(opts.extrude),
            )
        })
        .collect();
    let padding = u64::from(opts.padding);
    let columns = match opts.columns {
        Some(c) => (c as usize).min(sizes.len()),
        None => best_columns(&sizes, padding, opts.pot),
    };
    let (positions, width, height) = place_rows(&sizes, columns, padding);
    let (width, height) = if opts.pot {
        (width.next_power_of_two(), height.next_power_of_two())
    } else {
        (width, height)
    };
    if width > MAX_SHEET_SIDE || height > MAX_SHEET_SIDE {
        return Err(Error::invalid(
            format!("the sheet would be {width}x{height} pixels, over the {MAX_SHEET_SIDE} pixel limit engines import"),
            "use fewer frames or smaller frames, set --columns for a squarer sheet, or put animations on separate sheets",
        ));
    }

    let mut frames = Vec::with_capacity(frame_slot.len());
    let mut sheet_animations = Vec::with_capacity(animations.len());
    let mut global = 0;
    for (ai, anim) in animations.iter().enumerate() {
        let durations = frame_durations_ms(anim.clip.frames.len(), anim.clip.fps);
        sheet_animations.push(SheetAnimation {
            name: anim.name.clone(),
            fps: anim.clip.fps,
            looping: anim.looping,
            pixel_art: anim.clip.pixel_art,
            first: frames.len(),
            len: anim.clip.frames.len(),
        });
        for (fi, frame) in anim.clip.frames.iter().enumerate() {
            let slot = &slots[frame_slot[global]];
            let (x, y) = positions[frame_slot[global]];
            frames.push(SheetFrame {
                name: frame_name(&anim.name, fi),
                animation: ai,
                index: fi,
                rect: Rect {
                    x: x as u32 + opts.extrude,
                    y: y as u32 + opts.extrude,
                    w: slot.crop.w,
                    h: slot.crop.h,
                },
                offset: (slot.crop.x, slot.crop.y),
                source_size: (frame.width, frame.height),
                duration_ms: durations[fi],
            });
            global += 1;
        }
    }
    Ok(SheetLayout {
        width: width as u32,
        height: height as u32,
        frames,
        animations: sheet_animations,
        extrude: opts.extrude,
        gameplay: animations
            .iter()
            .map(|a| a.gameplay.map(<[FrameGameplay]>::to_vec))
            .collect(),
    })
}

/// Refuses inputs that would give a broken sheet, naming the animation at fault.
fn check_animations(animations: &[Animation]) -> Result<()> {
    if animations.is_empty() {
        return Err(Error::invalid(
            "a sprite sheet needs at least one animation",
            "pass one or more actions to put on the sheet",
        ));
    }
    for (i, a) in animations.iter().enumerate() {
        check_animation_name(&a.name)?;
        if animations[..i].iter().any(|b| b.name == a.name) {
            return Err(Error::invalid(
                format!("two animations are both named `{}`", a.name),
                "give every animation on a sheet its own name",
            ));
        }
        if a.clip.frames.is_empty() {
            return Err(Error::invalid(
                format!("animation `{}` has no frames", a.name),
                "render at least one frame",
            ));
        }
        if a.clip.fps == 0 {
            return Err(Error::invalid(
                format!("animation `{}` has fps 0", a.name),
                "use an fps of 1 or more",
            ));
        }
        if let Some(g) = a.gameplay {
            if g.len() != a.clip.frames.len() {
                return Err(Error::internal(format!(
                    "animation `{}` has gameplay data for {} of its {} frames",
                    a.name,
                    g.len(),
                    a.clip.frames.len()
                )));
            }
        }
        for (fi, f) in a.clip.frames.iter().enumerate() {
            if f.width == 0 || f.height == 0 || f.rgba.len() != f.pixel_count() * 4 {
                return Err(Error::internal(format!(
                    "frame {fi} of animation `{}` is malformed ({}x{}, {} bytes)",
                    a.name,
                    f.width,
                    f.height,
                    f.rgba.len()
                )));
            }
        }
    }
    Ok(())
}

/// The visible box of a frame; a wholly transparent frame keeps one transparent pixel so
/// every engine still gets a valid, non-empty rect.
fn trimmed_box(frame: &Frame) -> Rect {
    match frame.alpha_bounds(0) {
        Some((x0, y0, x1, y1)) => Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        },
        None => Rect {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
        },
    }
}

fn region_rows<'f>(frame: &'f Frame, r: Rect) -> impl Iterator<Item = &'f [u8]> + 'f {
    let stride = frame.width as usize * 4;
    (r.y..r.bottom()).map(move |y| {
        let start = y as usize * stride + r.x as usize * 4;
        &frame.rgba[start..start + r.w as usize * 4]
    })
}

fn hash_region(frame: &Frame, r: Rect) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for row in region_rows(frame, r) {
        row.hash(&mut h);
    }
    h.finish()
}

fn same_pixels(a: &Frame, ra: Rect, b: &Frame, rb: Rect) -> bool {
    (ra.w, ra.h) == (rb.w, rb.h) && region_rows(a, ra).eq(region_rows(b, rb))
}

/// Places items left to right, `columns` per row, rows top to bottom; returns each
/// item's top-left corner and the sheet size.
fn place_rows(sizes: &[(u64, u64)], columns: usize, padding: u64) -> (Vec<(u64, u64)>, u64, u64) {
    let columns = columns.max(1);
    let mut positions = Vec::with_capacity(sizes.len());
    let (mut width, mut y) = (0u64, 0u64);
    for row in sizes.chunks(columns) {
        let mut x = 0;
        let mut row_h = 0;
        for &(w, h) in row {
            positions.push((x, y));
            width = width.max(x + w);
            x += w + padding;
            row_h = row_h.max(h);
        }
        y += row_h + padding;
    }
    let height = y.saturating_sub(padding);
    (positions, width, height)
}

/// The row length giving the shortest longest side, then the smallest area.
fn best_columns(sizes: &[(u64, u64)], padding: u64, pot: bool) -> usize {
    let round = |v: u64| if pot { v.next_power_of_two() } else { v };
    (1..=sizes.len().max(1))
        .min_by_key(|&c| {
            let (_, w, h) = place_rows(sizes, c, padding);
            let (w, h) = (round(w), round(h));
            (w.max(h), w * h, w.abs_diff(h))
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinema_core::{Clip, Placement};

    fn clip(n: usize, w: u32, h: u32) -> Clip {
        let frames = (0..n)
            .map(|i| {
                let mut f = Frame::new(w, h);
                f.set_pixel((i as u32) % w, h - 1, [i as u8, 1, 2, 255]);
                f
            })
            .collect();
        Clip {
            frames,
            fps: 10,
            looping: true,
            pixel_art: true,
            placement: Placement::default(),
        }
    }

    #[test]
    fn auto_layout_is_near_square_and_explicit_columns_are_kept() {
        let c = clip(9, 10, 10);
        let anims = [Animation::new("idle", &c)];
        let opts = SheetOptions {
            padding: 0,
            ..Default::default()
        };
        let l = layout_sheet(&anims, &opts).unwrap();
        assert_eq!((l.width, l.height), (30, 30));
        let l = layout_sheet(
            &anims,
            &SheetOptions {
                columns: Some(9),
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!((l.width, l.height), (90, 10));
        let l = layout_sheet(
            &anims,
            &SheetOptions {
                columns: Some(100),
                ..opts
            },
        )
        .unwrap();
        assert_eq!((l.width, l.height), (90, 10));
    }

    #[test]
    fn identical_frames_share_one_rect() {
        let mut c = clip(3, 8, 8);
        c.frames[2] = c.frames[0].clone();
        let anims = [Animation::new("idle", &c)];
        let l = layout_sheet(
            &anims,
            &SheetOptions {
                padding: 0,
                columns: Some(10),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.frames[0].rect, l.frames[2].rect);
        assert_ne!(l.frames[0].rect, l.frames[1].rect);
        assert_eq!(l.width, 16, "two stored frames of 8 px");
        let l = layout_sheet(
            &anims,
            &SheetOptions {
                padding: 0,
                columns: Some(10),
                dedupe: false,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.width, 24);
    }

    #[test]
    fn empty_frames_trim_to_one_pixel() {
        let c = Clip {
            frames: vec![Frame::new(5, 7)],
            fps: 5,
            looping: false,
            pixel_art: false,
            placement: Placement::default(),
        };
        let l = layout_sheet(
            &[Animation::new("blank", &c)],
            &SheetOptions {
                trim: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((l.frames[0].rect.w, l.frames[0].rect.h), (1, 1));
        assert_eq!(l.frames[0].source_size, (5, 7));
    }

    #[test]
    fn bad_inputs_are_refused_with_hints() {
        let c = clip(2, 4, 4);
        let empty = Clip {
            frames: vec![],
            ..c.clone()
        };
        let cases: Vec<Vec<Animation>> = vec![
            vec![],
            vec![Animation::new("a", &c), Animation::new("a", &c)],
            vec![Animation::new("a b", &c)],
            vec![Animation::new("a", &empty)],
        ];
        for anims in cases {
            let e = layout_sheet(&anims, &SheetOptions::default()).unwrap_err();
            assert!(e.hint.is_some(), "{e}");
        }
        let e = layout_sheet(
            &[Animation::new("a", &c)],
            &SheetOptions {
                columns: Some(0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("columns"));
        let huge = clip(1, 20_000, 1);
        let e = layout_sheet(&[Animation::new("a", &huge)], &SheetOptions::default()).unwrap_err();
        assert!(e.to_string().contains("16384"), "{e}");
    }
}
