//! The drawable pieces of a model as engines want them: one connected mesh each, its
//! outline (hull) vertices first and in order around it, and its pixels cut into a region
//! of one shared texture page.
//!
//! A part layer may hold several separate blobs (two wings on one appendage layer, a
//! limb cut in two by the body); editors expect one closed hull per mesh, so each blob
//! becomes its own piece.

use std::collections::HashMap;

use kinema_core::Frame;

use crate::parts::{Layer, Model, Part};

/// One connected mesh of one layer.
#[derive(Clone, Debug)]
pub struct Piece {
    /// Unique among the pieces: the part's name, numbered from the second on (`arm_left`,
    /// `appendage`, `appendage_2`). Slot, attachment, region and node names use it.
    pub name: String,
    pub layer: usize,
    /// Indices into the layer's mesh vertices: the hull in order first, then the inside.
    pub vertices: Vec<u32>,
    /// How many of `vertices` form the hull.
    pub hull: usize,
    /// Triangles as indices into `vertices`.
    pub triangles: Vec<[u32; 3]>,
    /// The piece's pixels on the page: `(page x, page y, width, height)`, and the image
    /// pixel its top-left corner shows.
    pub region: (u32, u32, u32, u32),
    pub image_origin: (i64, i64),
}

impl Piece {
    /// Page pixel coordinates of an image point of this piece.
    pub fn page_uv(&self, p: [f32; 2]) -> [f32; 2] {
        [
            p[0] - self.image_origin.0 as f32 + self.region.0 as f32,
            p[1] - self.image_origin.1 as f32 + self.region.1 as f32,
        ]
    }
}

/// Every piece of a model, back to front, and the texture page holding their pixels.
#[derive(Clone, Debug)]
pub struct Pieces {
    pub pieces: Vec<Piece>,
    pub page: Frame,
}

/// The lower-case name of a part, as exports name slots and nodes.
pub fn part_name(part: Part) -> &'static str {
    match part {
        Part::Body => "body",
        Part::ArmLeft => "arm_left",
        Part::ArmRight => "arm_right",
        Part::LegLeft => "leg_left",
        Part::LegRight => "leg_right",
        Part::FrontNear => "front_near",
        Part::FrontFar => "front_far",
        Part::HindNear => "hind_near",
        Part::HindFar => "hind_far",
        Part::Tail => "tail",
        Part::Appendage => "appendage",
        Part::Underlay => "underlay",
    }
}

/// Transparent pixels around each region, so filtering never bleeds between pieces.
const GAP: u32 = 2;

/// Cuts the model into pieces and packs their pixels into one page (shelves of regions,
/// tallest first, about as wide as the character image).
pub fn cut(model: &Model) -> Pieces {
    let mut pieces = Vec::new();
    let mut used: HashMap<&'static str, usize> = HashMap::new();
    for (li, layer) in model.layers.iter().enumerate() {
        for (vertices, hull, triangles) in components(layer) {
            let base = part_name(layer.part);
            let n = used.entry(base).or_insert(0);
            *n += 1;
            let name = if *n == 1 {
                base.to_string()
            } else {
                format!("{base}_{n}")
            };
            let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for &v in &vertices {
                let p = layer.mesh.vertices[v as usize];
                x0 = x0.min(p[0]);
                y0 = y0.min(p[1]);
                x1 = x1.max(p[0]);
                y1 = y1.max(p[1]);
            }
            let (ox, oy) = (x0.floor() as i64 - 1, y0.floor() as i64 - 1);
            let (w, h) = (
                (x1.ceil() as i64 + 1 - ox).max(1) as u32,
                (y1.ceil() as i64 + 1 - oy).max(1) as u32,
            );
            pieces.push(Piece {
                name,
                layer: li,
                vertices,
                hull,
                triangles,
                region: (0, 0, w, h),
                image_origin: (ox, oy),
            });
        }
    }
    let page = pack(&mut pieces, model);
    Pieces { pieces, page }
}

/// Places every region on shelves and copies its pixels (straight alpha) onto the page.
fn pack(pieces: &mut [Piece], model: &Model) -> Frame {
    let target = (model.width as u32).max(64);
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(pieces[i].region.3));
    let (mut x, mut y, mut shelf, mut width) = (GAP, GAP, 0u32, GAP);
    for &i in &order {
        let (_, _, w, h) = pieces[i].region;
        if x > GAP && x + w + GAP > target.max(w + 2 * GAP) {
            x = GAP;
            y += shelf + GAP;
            shelf = 0;
        }
        pieces[i].region = (x, y, w, h);
        x += w + GAP;
        shelf = shelf.max(h);
        width = width.max(x);
    }
    let height = y + shelf + GAP;
    let mut page = Frame::new(width, height);
    for piece in pieces.iter() {
        let texture = &model.layers[piece.layer].texture;
        let (px, py, w, h) = piece.region;
        for dy in 0..h {
            for dx in 0..w {
                let (ix, iy) = (
                    piece.image_origin.0 + dx as i64,
                    piece.image_origin.1 + dy as i64,
                );
                if ix < 0 || iy < 0 || ix >= texture.width as i64 || iy >= texture.height as i64 {
                    continue;
                }
                let [r, g, b, a] = texture.texel(ix as usize, iy as usize);
                if a == 0 {
                    continue;
                }
                let straight = |c: u8| ((c as u32 * 255 + a as u32 / 2) / a as u32).min(255) as u8;
                page.set_pixel(px + dx, py + dy, [straight(r), straight(g), straight(b), a]);
            }
        }
    }
    page
}

/// The connected meshes of a layer: `(vertices, hull length, triangles)`, vertices
/// renumbered with the longest boundary loop first.
fn components(layer: &Layer) -> Vec<(Vec<u32>, usize, Vec<[u32; 3]>)> {
    let n = layer.mesh.vertices.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for t in &layer.mesh.triangles {
        for k in 1..3 {
            let (a, b) = (
                root(&mut parent, t[0] as usize),
                root(&mut parent, t[k] as usize),
            );
            if a != b {
                parent[a] = b;
            }
        }
    }
    let mut groups: Vec<(usize, Vec<[u32; 3]>)> = Vec::new();
    for t in &layer.mesh.triangles {
        let r = root(&mut parent, t[0] as usize);
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, ts)) => ts.push(*t),
            None => groups.push((r, vec![*t])),
        }
    }
    groups
        .into_iter()
        .map(|(_, tris)| order_hull_first(&tris))
        .collect()
}

/// Renumbers a connected triangle set: its longest boundary loop in order, then the rest.
fn order_hull_first(tris: &[[u32; 3]]) -> (Vec<u32>, usize, Vec<[u32; 3]>) {
    // Boundary edges appear in one triangle only; kept in the triangles' winding.
    let mut count: HashMap<(u32, u32), u32> = HashMap::new();
    for t in tris {
        for k in 0..3 {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            *count.entry((a.min(b), a.max(b))).or_insert(0) += 1;
        }
    }
    let mut next: HashMap<u32, u32> = HashMap::new();
    for t in tris {
        for k in 0..3 {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            if count[&(a.min(b), a.max(b))] == 1 {
                next.insert(a, b);
            }
        }
    }
    let mut starts: Vec<u32> = next.keys().copied().collect();
    starts.sort_unstable();
    let mut seen = std::collections::HashSet::new();
    let mut best: Vec<u32> = Vec::new();
    for s in starts {
        if seen.contains(&s) {
            continue;
        }
        let mut lp = vec![s];
        seen.insert(s);
        let mut at = s;
        while let Some(&b) = next.get(&at) {
            if b == s || !seen.insert(b) {
                break;
            }
            lp.push(b);
            at = b;
        }
        if lp.len() > best.len() {
            best = lp;
        }
    }
    let mut order = best.clone();
    let mut all: Vec<u32> = tris.iter().flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    let in_hull: std::collections::HashSet<u32> = best.iter().copied().collect();
    order.extend(all.into_iter().filter(|v| !in_hull.contains(v)));
    let index: HashMap<u32, u32> = order
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, i as u32))
        .collect();
    let triangles = tris.iter().map(|t| t.map(|v| index[&v])).collect();
    (order, best.len(), triangles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::build_model;
    use crate::skeleton::{auto_rig, tests::stick_figure};

    #[test]
    fn a_square_of_two_triangles_is_all_hull() {
        let (order, hull, tris) = order_hull_first(&[[0, 1, 2], [0, 2, 3]]);
        assert_eq!(hull, 4);
        assert_eq!(order.len(), 4);
        assert_eq!(tris.len(), 2);
    }

    #[test]
    fn pieces_cover_every_triangle_and_their_pixels_reach_the_page() {
        let c = stick_figure();
        let model = build_model(&c, &auto_rig(&c).unwrap()).unwrap();
        let p = cut(&model);
        let total: usize = model.layers.iter().map(|l| l.mesh.triangles.len()).sum();
        assert_eq!(
            p.pieces.iter().map(|x| x.triangles.len()).sum::<usize>(),
            total
        );
        let mut names: Vec<&str> = p.pieces.iter().map(|x| x.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), p.pieces.len(), "names are unique");
        for piece in &p.pieces {
            assert!(piece.hull >= 3 && piece.hull <= piece.vertices.len());
            let (x, y, w, h) = piece.region;
            assert!(x + w <= p.page.width && y + h <= p.page.height);
            // Every vertex maps inside its region.
            for &v in &piece.vertices {
                let uv = piece.page_uv(model.layers[piece.layer].mesh.vertices[v as usize]);
                assert!(uv[0] >= x as f32 && uv[0] <= (x + w) as f32, "{uv:?}");
                assert!(uv[1] >= y as f32 && uv[1] <= (y + h) as f32, "{uv:?}");
            }
        }
        // The body's opaque pixels are on the page, not just empty regions.
        let opaque = p
            .page
            .rgba
            .chunks_exact(4)
            .filter(|px| px[3] == 255)
            .count();
        let source = c
            .image
            .rgba
            .chunks_exact(4)
            .filter(|px| px[3] == 255)
            .count();
        assert!(opaque >= source, "{opaque} < {source}");
    }
}
