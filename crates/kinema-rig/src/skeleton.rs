//! Automatic rigging without neural networks: silhouette measurements, a distance
//! transform and a thinned skeleton decide humanoid vs body-chain and place the joints.

use kinema_core::{Character, Error, Result};

use crate::arms::trace_side_arm;
use crate::mask::Mask;
use crate::quadruped::{find_quadruped, QuadLayout};
use crate::rig::{
    Joint, Rig, RigKind, CHAIN_JOINTS, HUMANOID_JOINTS, QUADRUPED_JOINTS, RIG_VERSION,
};

/// The opaque pixels of the character used for shape analysis, or a specific error.
pub fn subject_mask(character: &Character) -> Result<Mask> {
    if character.width() == 0 || character.height() == 0 {
        return Err(Error::image(format!(
            "`{}` has no pixels (0x0 image)",
            character.name
        )));
    }
    for threshold in [127u8, 0] {
        let m = Mask::from_alpha(&character.image, threshold);
        if m.count() > 0 {
            return Ok(m);
        }
    }
    Err(Error::image(format!(
        "`{}` is fully transparent: there is no character to animate",
        character.name
    ))
    .with_hint("use an image whose background is transparent and whose character is opaque"))
}

/// Horizontal runs `[start, end)` of mask pixels in each row.
pub(crate) fn row_runs(mask: &Mask) -> Vec<Vec<(usize, usize)>> {
    (0..mask.height)
        .map(|y| {
            let row = &mask.data[y * mask.width..(y + 1) * mask.width];
            let mut runs = Vec::new();
            let mut x = 0;
            while x < row.len() {
                if row[x] {
                    let s = x;
                    while x < row.len() && row[x] {
                        x += 1;
                    }
                    runs.push((s, x));
                } else {
                    x += 1;
                }
            }
            runs
        })
        .collect()
}

/// What the silhouette measurements say; kept so tests and the overlay can explain a rig.
#[derive(Clone, Debug)]
pub struct ShapeReport {
    pub aspect: f32,
    /// Fraction of the bottom rows that show two separate legs.
    pub leg_gap: f32,
    /// Narrowest row under the head divided by the head's width (1 = no neck).
    pub neck_ratio: f32,
    pub humanoid: bool,
}

struct Profile {
    runs: Vec<Vec<(usize, usize)>>,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Profile {
    fn extent(&self, y: usize) -> Option<(usize, usize)> {
        let r = self.runs.get(y)?;
        Some((r.first()?.0, r.last()?.1))
    }
    fn width(&self, y: usize) -> usize {
        self.extent(y).map_or(0, |(a, b)| b - a)
    }
    fn h(&self) -> f32 {
        (self.y1 - self.y0) as f32
    }
    /// The two runs on either side of the row's middle gap, left to right, if both are
    /// substantial: the legs. Not simply the two widest runs: where hands hang beside the
    /// legs a row reads hand, leg, leg, hand, and the two hands are the widest, evenly
    /// spaced about the middle, so they passed for legs and the leg bones landed on the hands.
    fn two_legs(&self, y: usize, min_width: usize) -> Option<((usize, usize), (usize, usize))> {
        let runs: Vec<(usize, usize)> = self.runs[y]
            .iter()
            .copied()
            .filter(|r| r.1 - r.0 >= min_width)
            .collect();
        if runs.len() < 2 {
            return None;
        }
        let mid = (self.x0 + self.x1) as f32 * 0.5;
        let gap_center = |i: usize| (runs[i].1 + runs[i + 1].0) as f32 * 0.5;
        let i = (0..runs.len() - 1).min_by(|&a, &b| {
            (gap_center(a) - mid)
                .abs()
                .total_cmp(&(gap_center(b) - mid).abs())
        })?;
        let (a, b) = (runs[i], runs[i + 1]);
        // Legs: similar widths with the gap near the middle (a hand beside the body is not).
        let (wa, wb) = ((a.1 - a.0) as f32, (b.1 - b.0) as f32);
        let centered = (gap_center(i) - mid).abs() < 0.15 * (self.x1 - self.x0) as f32;
        (centered && wa.min(wb) >= 0.4 * wa.max(wb)).then_some((a, b))
    }
}

/// Neck row (narrowest row under the widest head row) and the neck ratio.
fn find_neck(p: &Profile) -> (usize, f32) {
    let h = p.h();
    let head_end = p.y0 + (0.5 * h) as usize;
    let (mut head_row, mut head_w) = (p.y0, 0);
    // The head is the first bulge from the top: stop once the outline has narrowed.
    for y in p.y0..head_end.max(p.y0 + 1).min(p.y1) {
        let w = p.width(y);
        if w > head_w {
            head_w = w;
            head_row = y;
        } else if (w as f32) < 0.85 * head_w as f32 {
            break;
        }
    }
    let lo = head_row.max(p.y0 + (0.12 * h) as usize);
    let hi = (p.y0 + (0.62 * h) as usize).min(p.y1);
    let mut best = (usize::MAX, lo);
    for y in lo..hi {
        let w = p.width(y);
        if w > 0 && w < best.0 {
            best = (w, y);
        }
    }
    if best.0 == usize::MAX || head_w == 0 {
        return (p.y0 + (0.3 * h) as usize, 1.0);
    }
    (best.1, best.0 as f32 / head_w as f32)
}

/// Top of the band of bottom rows that show two separate legs, with the fraction of the
/// bottom fifth that does.
fn find_crotch(p: &Profile) -> (Option<usize>, f32) {
    let h = p.h();
    let min_leg = ((p.x1 - p.x0) as f32 * 0.06).max(1.0) as usize;
    let bottom = (0.2 * h).max(1.0) as usize;
    let split_rows = (p.y1.saturating_sub(bottom)..p.y1)
        .filter(|&y| p.two_legs(y, min_leg).is_some())
        .count();
    let fraction = split_rows as f32 / bottom as f32;
    // Walk up from the lowest split row while rows stay split.
    let mut y = p.y1;
    while y > p.y0 && p.two_legs(y - 1, min_leg).is_none() && p.y1 - y < bottom {
        y -= 1;
    }
    let mut top = None;
    while y > p.y0 + (0.4 * h) as usize && p.two_legs(y - 1, min_leg).is_some() {
        y -= 1;
        top = Some(y);
    }
    (top, fraction)
}

/// Decides the rig kind from silhouette shape.
pub fn analyse(mask: &Mask) -> ShapeReport {
    let Some((x0, y0, x1, y1)) = mask.bounds() else {
        return ShapeReport {
            aspect: 1.0,
            leg_gap: 0.0,
            neck_ratio: 1.0,
            humanoid: false,
        };
    };
    let p = Profile {
        runs: row_runs(mask),
        x0,
        y0,
        x1,
        y1,
    };
    let aspect = (y1 - y0) as f32 / (x1 - x0) as f32;
    let (_, neck_ratio) = find_neck(&p);
    let (_, leg_gap) = find_crotch(&p);
    let legs = leg_gap >= 0.3;
    let head = neck_ratio < 0.8;
    let humanoid =
        (y1 - y0) >= 12 && ((aspect >= 1.15 && (legs || head)) || (aspect >= 0.9 && legs && head));
    ShapeReport {
        aspect,
        leg_gap,
        neck_ratio,
        humanoid,
    }
}

/// Places joints on the character: humanoid skeleton or body chain, decided by shape.
pub fn auto_rig(character: &Character) -> Result<Rig> {
    let all = subject_mask(character)?;
    let (labels, sizes) = all.components();
    let main_label = (1..sizes.len()).max_by_key(|&l| sizes[l]).unwrap_or(1) as u32;
    let main = Mask::select(&labels, main_label, all.width, all.height);
    let report = analyse(&main);
    let (kind, positions) = if let Some(q) = find_quadruped(&main, &row_runs(&main)) {
        (RigKind::Quadruped, quadruped_joints(&q))
    } else if report.humanoid {
        (RigKind::Humanoid, humanoid_joints(&main))
    } else {
        (RigKind::BodyChain, chain_joints(&main))
    };
    let joints = kind
        .template()
        .iter()
        .zip(positions)
        .map(|((name, parent), [x, y])| Joint {
            name: name.to_string(),
            x,
            y,
            parent: parent.map(String::from),
        })
        .collect();
    Ok(Rig {
        version: RIG_VERSION,
        kind,
        width: character.width(),
        height: character.height(),
        joints,
    })
}

/// Joint positions in [`QUADRUPED_JOINTS`] order.
fn quadruped_joints(q: &QuadLayout) -> Vec<[f32; 2]> {
    let mut out = vec![q.hips, q.withers, q.neck, q.head, q.tail, q.tail_tip];
    for leg in &q.legs {
        out.extend_from_slice(leg);
    }
    debug_assert_eq!(out.len(), QUADRUPED_JOINTS.len());
    out
}

fn chain_joints(mask: &Mask) -> Vec<[f32; 2]> {
    let (x0, y0, x1, y1) = mask
        .bounds()
        .unwrap_or((0, 0, mask.width.max(1), mask.height.max(1)));
    let p = Profile {
        runs: row_runs(mask),
        x0,
        y0,
        x1,
        y1,
    };
    let h = p.h();
    let center_of = |ya: usize, yb: usize| {
        let (mut s, mut n) = (0.0f32, 0.0f32);
        for y in ya..yb.max(ya + 1).min(y1) {
            for &(a, b) in &p.runs[y] {
                s += (a + b) as f32 * 0.5 * (b - a) as f32;
                n += (b - a) as f32;
            }
        }
        if n > 0.0 {
            s / n
        } else {
            (x0 + x1) as f32 * 0.5
        }
    };
    let base = [
        center_of(y1 - (0.15 * h).ceil() as usize, y1),
        y1 as f32 - 0.02 * h - 0.5,
    ];
    let body = [center_of(y0, y1), y0 as f32 + 0.55 * h];
    let top = [
        center_of(y0, y0 + (0.25 * h).ceil() as usize),
        y0 as f32 + 0.1 * h,
    ];
    debug_assert_eq!(CHAIN_JOINTS.len(), 3);
    vec![base, body, top]
}

/// Skeleton end points (pixels of the thinned mask with one neighbour), in full-size pixels.
fn skeleton_ends(mask: &Mask) -> Vec<[f32; 2]> {
    let longest = mask.width.max(mask.height) as f32;
    let scale = (160.0 / longest).min(1.0);
    let (w, h) = (
        ((mask.width as f32 * scale).round() as usize).max(1),
        ((mask.height as f32 * scale).round() as usize).max(1),
    );
    let small = mask.resized(w, h);
    let thin = small.thin();
    let mut ends = Vec::new();
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            if !thin.get(x, y) {
                continue;
            }
            let n = (-1..=1)
                .flat_map(|dy| (-1..=1).map(move |dx| (dx, dy)))
                .filter(|&(dx, dy)| (dx, dy) != (0, 0) && thin.get(x + dx, y + dy))
                .count();
            if n == 1 {
                ends.push([(x as f32 + 0.5) / scale, (y as f32 + 0.5) / scale]);
            }
        }
    }
    ends
}

fn humanoid_joints(mask: &Mask) -> Vec<[f32; 2]> {
    let (x0, y0, x1, y1) = mask
        .bounds()
        .unwrap_or((0, 0, mask.width.max(1), mask.height.max(1)));
    let p = Profile {
        runs: row_runs(mask),
        x0,
        y0,
        x1,
        y1,
    };
    let h = p.h();
    let w = (x1 - x0) as f32;
    let (neck_y, neck_ratio) = find_neck(&p);
    let neck_y = if neck_ratio < 0.95 {
        neck_y
    } else {
        y0 + (0.3 * h) as usize
    };
    let (crotch, _) = find_crotch(&p);
    let crotch_y = crotch
        .unwrap_or(neck_y + ((y1 - neck_y) as f32 * 0.62) as usize)
        .clamp(neck_y + 2, y1.saturating_sub(1).max(neck_y + 2));
    let mid = |y: usize| {
        p.extent(y.min(y1 - 1))
            .map_or((x0 + x1) as f32 * 0.5, |(a, b)| (a + b) as f32 * 0.5)
    };
    let torso_rows: Vec<usize> = (neck_y..crotch_y.min(y1)).collect();
    let mut centers: Vec<f32> = torso_rows.iter().map(|&y| mid(y)).collect();
    centers.sort_by(f32::total_cmp);
    let cx = centers
        .get(centers.len() / 2)
        .copied()
        .unwrap_or((x0 + x1) as f32 * 0.5);

    // Legs: centres of the two runs in the split band, or a template from the bottom width.
    let min_leg = (w * 0.06).max(1.0) as usize;
    let (mut lsum, mut rsum, mut n) = (0.0, 0.0, 0.0);
    for y in crotch_y..y1 {
        if let Some((a, b)) = p.two_legs(y, min_leg) {
            lsum += (a.0 + a.1) as f32 * 0.5;
            rsum += (b.0 + b.1) as f32 * 0.5;
            n += 1.0;
        }
    }
    let (bl, br) = p
        .extent(y1 - 1)
        .map_or((x0 as f32, x1 as f32), |(a, b)| (a as f32, b as f32));
    let (leg_l, leg_r) = if n > 0.0 {
        (lsum / n, rsum / n)
    } else {
        let half = ((br - bl) * 0.25).max(1.0);
        (cx - half, cx + half)
    };
    let pelvis_y = crotch_y as f32 - 0.04 * h;
    let foot_y = y1 as f32 - 0.03 * h - 0.5;

    // Arms: shoulders just inside the torso edge under the neck; hands from skeleton ends,
    // else from where the outline sticks out past the hips, else from proportions.
    let torso_h = (crotch_y - neck_y) as f32;
    let shoulder_y = neck_y as f32 + 0.15 * torso_h;
    let (sl, sr) = p
        .extent(shoulder_y as usize)
        .map_or((x0 as f32, x1 as f32), |(a, b)| (a as f32, b as f32));
    let arm_r = (w * 0.08).max(1.0);
    let shoulder_l = [(sl + arm_r * 1.3).min(cx - 1.0), shoulder_y];
    let shoulder_r = [(sr - arm_r * 1.3).max(cx + 1.0), shoulder_y];
    let ends = skeleton_ends(mask);
    let (hip_l_out, hip_r_out) = p
        .extent(crotch_y)
        .map_or((x0 as f32, x1 as f32), |(a, b)| (a as f32, b as f32));
    let hand = |left: bool, shoulder: [f32; 2]| -> [f32; 2] {
        let side_ok = |x: f32| {
            if left {
                x < cx - 0.18 * w
            } else {
                x > cx + 0.18 * w
            }
        };
        let best = ends
            .iter()
            .filter(|e| {
                side_ok(e[0])
                    && e[1] > shoulder[1]
                    && e[1] < crotch_y as f32 + 0.5 * (y1 - crotch_y) as f32
            })
            .max_by(|a, b| dist(**a, shoulder).total_cmp(&dist(**b, shoulder)));
        if let Some(e) = best {
            if dist(*e, shoulder) > 0.15 * h {
                return *e;
            }
        }
        // Lowest row whose outline sticks out past the hips on this side.
        let mut lowest = None;
        for y in shoulder[1] as usize..y1 {
            if let Some((a, b)) = p.extent(y) {
                let out = if left {
                    (a as f32) < hip_l_out - 1.0
                } else {
                    (b as f32) > hip_r_out + 1.0
                };
                if out {
                    lowest = Some((
                        y,
                        if left {
                            a as f32 + arm_r
                        } else {
                            b as f32 - arm_r
                        },
                    ));
                }
            }
        }
        match lowest {
            Some((y, x)) if y as f32 > shoulder[1] + 0.4 * torso_h => [x, y as f32 - arm_r * 0.5],
            _ => [shoulder[0], shoulder[1] + 0.85 * torso_h],
        }
    };
    let elbow = |s: [f32; 2], hd: [f32; 2]| [(s[0] + hd[0]) * 0.5, (s[1] + hd[1]) * 0.5];
    // An arm hanging beside the body, traced as its own run, puts every joint on the arm;
    // otherwise the hand comes from skeleton ends or the outline, the shoulder from the torso.
    let min_rows = ((0.08 * h) as usize).max(3);
    let traced = |left: bool| {
        trace_side_arm(&p.runs, cx, neck_y, y1, min_rows, left)
            .filter(|a| a.shoulder[1] >= neck_y as f32 - 0.5 * a.width)
    };
    let [(shoulder_l, elbow_l, hand_l), (shoulder_r, elbow_r, hand_r)] =
        [(true, shoulder_l), (false, shoulder_r)].map(|(left, shoulder)| match traced(left) {
            Some(a) => (a.shoulder, a.elbow, a.hand),
            None => {
                let hd = hand(left, shoulder);
                (shoulder, elbow(shoulder, hd), hd)
            }
        });
    let head_top = [mid(y0), y0 as f32 + 0.02 * h];
    let positions = vec![
        [cx, pelvis_y],
        [cx, neck_y as f32],
        head_top,
        shoulder_l,
        elbow_l,
        hand_l,
        shoulder_r,
        elbow_r,
        hand_r,
        [leg_l, pelvis_y],
        [leg_l, (pelvis_y + foot_y) * 0.5],
        [leg_l, foot_y],
        [leg_r, pelvis_y],
        [leg_r, (pelvis_y + foot_y) * 0.5],
        [leg_r, foot_y],
    ];
    debug_assert_eq!(positions.len(), HUMANOID_JOINTS.len());
    positions
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kinema_core::Frame;

    /// A stick figure: round head, thick body, arms out, two legs apart.
    pub fn stick_figure() -> Character {
        let (w, h) = (60u32, 100u32);
        let mut f = Frame::new(w, h);
        let mut put = |x: i32, y: i32| {
            if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                f.set_pixel(x as u32, y as u32, [200, 120, 80, 255]);
            }
        };
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let head = (x - 30).pow(2) + (y - 14).pow(2) <= 121;
                let body = (24..=36).contains(&x) && (24..=62).contains(&y);
                let arm_l = (y - 30 - (30 - x) / 2).abs() <= 2 && (10..24).contains(&x);
                let arm_r = (y - 30 - (x - 30) / 2).abs() <= 2 && (37..50).contains(&x);
                let leg_l = (x - (27 - (y - 62) / 3)).abs() <= 3 && (62..96).contains(&y);
                let leg_r = (x - (33 + (y - 62) / 3)).abs() <= 3 && (62..96).contains(&y);
                if head || body || arm_l || arm_r || leg_l || leg_r {
                    put(x, y);
                }
            }
        }
        Character {
            image: f,
            pixel_art: false,
            name: "stick".into(),
        }
    }

    pub fn disc() -> Character {
        let mut f = Frame::new(64, 64);
        for y in 0..64u32 {
            for x in 0..64u32 {
                let (dx, dy) = (x as f32 - 31.5, y as f32 - 31.5);
                if dx * dx + dy * dy < 28.0 * 28.0 {
                    f.set_pixel(x, y, [40, 90, 220, 255]);
                }
            }
        }
        Character {
            image: f,
            pixel_art: false,
            name: "disc".into(),
        }
    }

    #[test]
    fn stick_figure_is_humanoid_with_sensible_joints() {
        let c = stick_figure();
        let rig = auto_rig(&c).unwrap();
        assert_eq!(
            rig.kind,
            RigKind::Humanoid,
            "{:?}",
            analyse(&Mask::from_alpha(&c.image, 127))
        );
        let j = |n: &str| rig.joint(n).unwrap();
        assert!(j("head")[1] < j("neck")[1] && j("neck")[1] < j("pelvis")[1]);
        assert!((j("neck")[1] - 25.0).abs() < 6.0, "neck {:?}", j("neck"));
        assert!(j("foot_left")[0] < j("foot_right")[0]);
        assert!(j("foot_left")[1] > 85.0);
        assert!(
            j("hand_left")[0] < 20.0 && j("hand_right")[0] > 40.0,
            "{:?} {:?}",
            j("hand_left"),
            j("hand_right")
        );
        rig.check_fits(&c).unwrap();
    }

    #[test]
    fn disc_is_a_body_chain() {
        let rig = auto_rig(&disc()).unwrap();
        assert_eq!(rig.kind, RigKind::BodyChain);
        let (b, m, t) = (
            rig.joint("base").unwrap(),
            rig.joint("body").unwrap(),
            rig.joint("top").unwrap(),
        );
        assert!(b[1] > m[1] && m[1] > t[1]);
        assert!((m[0] - 32.0).abs() < 1.5);
    }

    #[test]
    fn transparent_image_is_a_clear_error() {
        let c = Character {
            image: Frame::new(8, 8),
            pixel_art: false,
            name: "empty".into(),
        };
        let e = auto_rig(&c).unwrap_err();
        assert!(e.message.contains("fully transparent"), "{e}");
        let c = Character {
            image: Frame::new(0, 0),
            pixel_art: false,
            name: "zero".into(),
        };
        assert!(auto_rig(&c).is_err());
    }
}
