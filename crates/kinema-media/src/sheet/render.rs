//! Copying frame pixels onto the sheet. Pixels are copied, never resampled, so pixel art
//! keeps its hard edges and every stored pixel equals its source pixel.

use std::collections::HashSet;

use kinema_core::{Error, Frame, Result};

use super::{Animation, Rect, SheetLayout};

/// Draws the sheet planned by [`super::layout_sheet`] for the same `animations`.
///
/// Each stored rect gets `layout.extrude` pixels of its own edge repeated around it, so
/// bilinear sampling at the rect border never picks up a neighbouring frame.
pub fn render_sheet(animations: &[Animation], layout: &SheetLayout) -> Result<Frame> {
    layout.check()?;
    let mismatch = || Error::internal("the sheet layout was planned for different animations");
    let mut sheet = Frame::new(layout.width, layout.height);
    let mut drawn: HashSet<Rect> = HashSet::new();
    for f in &layout.frames {
        let frame = animations
            .get(f.animation)
            .and_then(|a| a.clip.frames.get(f.index))
            .ok_or_else(mismatch)?;
        let r = f.rect;
        // In u64 so a hand-made layout with huge numbers is refused, not overflowed.
        let (ox, oy, e) = (
            u64::from(f.offset.0),
            u64::from(f.offset.1),
            u64::from(layout.extrude),
        );
        let (x, y, w, h) = (
            u64::from(r.x),
            u64::from(r.y),
            u64::from(r.w),
            u64::from(r.h),
        );
        let fits_source = (frame.width, frame.height) == f.source_size
            && ox + w <= u64::from(frame.width)
            && oy + h <= u64::from(frame.height);
        let fits_sheet = x >= e
            && y >= e
            && x + w + e <= u64::from(sheet.width)
            && y + h + e <= u64::from(sheet.height);
        if !fits_source || !fits_sheet {
            return Err(mismatch());
        }
        if !drawn.insert(r) {
            continue;
        }
        copy_region(frame, f.offset, &mut sheet, r);
        if layout.extrude > 0 {
            extrude_region(&mut sheet, r, layout.extrude);
        }
    }
    Ok(sheet)
}

fn copy_region(src: &Frame, (sx, sy): (u32, u32), dst: &mut Frame, r: Rect) {
    let row_bytes = r.w as usize * 4;
    for row in 0..r.h {
        let s = ((sy + row) as usize * src.width as usize + sx as usize) * 4;
        let d = ((r.y + row) as usize * dst.width as usize + r.x as usize) * 4;
        dst.rgba[d..d + row_bytes].copy_from_slice(&src.rgba[s..s + row_bytes]);
    }
}

/// Repeats the rect's edge pixels `e` times outward (corners take the corner pixel).
fn extrude_region(sheet: &mut Frame, r: Rect, e: u32) {
    let stride = sheet.width as usize * 4;
    let px = |x: u32, y: u32| (y as usize * sheet.width as usize + x as usize) * 4;
    for y in r.y..r.bottom() {
        let left = px(r.x, y);
        let right = px(r.right() - 1, y);
        for k in 1..=e {
            let (l, rr) = (px(r.x - k, y), px(r.right() - 1 + k, y));
            sheet.rgba.copy_within(left..left + 4, l);
            sheet.rgba.copy_within(right..right + 4, rr);
        }
    }
    let row_start = (r.x - e) as usize * 4;
    let row_len = (r.w + 2 * e) as usize * 4;
    for k in 1..=e {
        let top = r.y as usize * stride + row_start;
        let bottom = (r.bottom() - 1) as usize * stride + row_start;
        let above = (r.y - k) as usize * stride + row_start;
        let below = (r.bottom() - 1 + k) as usize * stride + row_start;
        sheet.rgba.copy_within(top..top + row_len, above);
        sheet.rgba.copy_within(bottom..bottom + row_len, below);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{layout_sheet, SheetOptions};
    use super::*;
    use kinema_core::{Clip, Placement};

    #[test]
    fn extrusion_repeats_edges_and_rect_pixels_are_exact() {
        let mut f = Frame::new(2, 2);
        f.set_pixel(0, 0, [1, 0, 0, 255]);
        f.set_pixel(1, 0, [2, 0, 0, 255]);
        f.set_pixel(0, 1, [3, 0, 0, 255]);
        f.set_pixel(1, 1, [4, 0, 0, 255]);
        let c = Clip {
            frames: vec![f.clone()],
            fps: 1,
            looping: false,
            pixel_art: true,
            placement: Placement::default(),
        };
        let anims = [super::super::Animation::new("a", &c)];
        let l = layout_sheet(
            &anims,
            &SheetOptions {
                extrude: 2,
                padding: 0,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((l.width, l.height), (6, 6));
        let s = render_sheet(&anims, &l).unwrap();
        assert_eq!(s.crop(2, 2, 2, 2), f);
        assert_eq!(s.pixel(0, 0), [1, 0, 0, 255]);
        assert_eq!(s.pixel(5, 0), [2, 0, 0, 255]);
        assert_eq!(s.pixel(0, 5), [3, 0, 0, 255]);
        assert_eq!(s.pixel(5, 5), [4, 0, 0, 255]);
        assert_eq!(s.pixel(3, 0), [2, 0, 0, 255]);
        assert_eq!(s.pixel(0, 3), [3, 0, 0, 255]);
    }

    #[test]
    fn a_layout_for_other_animations_is_refused() {
        let a = Clip {
            frames: vec![Frame::new(4, 4)],
            fps: 1,
            looping: false,
            pixel_art: false,
            placement: Placement::default(),
        };
        let b = Clip {
            frames: vec![Frame::new(2, 2)],
            ..a.clone()
        };
        let l = layout_sheet(
            &[super::super::Animation::new("a", &a)],
            &SheetOptions::default(),
        )
        .unwrap();
        assert!(render_sheet(&[super::super::Animation::new("b", &b)], &l).is_err());
        assert!(render_sheet(&[], &l).is_err());
    }
}
