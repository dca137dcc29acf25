//! Triangle meshes over silhouettes: traced outline → constrained Delaunay → refinement.

use std::collections::HashSet;

use spade::{
    AngleLimit, ConstrainedDelaunayTriangulation, Point2, RefinementParameters, Triangulation,
};

use crate::contour::{outer_contours, simplify};
use crate::mask::Mask;

/// A 2-D triangle mesh; rest positions double as texture coordinates (source pixels).
#[derive(Clone, Debug, Default)]
pub struct Mesh {
    pub vertices: Vec<[f32; 2]>,
    /// Counter-clockwise in numbers (positive [`signed_area`]); a flip makes it negative.
    pub triangles: Vec<[u32; 3]>,
}

type Cdt = ConstrainedDelaunayTriangulation<Point2<f64>>;

/// Meshes every blob of `mask` separately (so detached parts stay detached), with
/// triangles no longer than about `max_edge` pixels and angles of at least 25°, which
/// keeps skinning smooth and the triangle count small enough for fast rendering.
pub fn mesh_mask(mask: &Mask, max_edge: f32) -> Mesh {
    let mut mesh = Mesh::default();
    for outline in outer_contours(mask) {
        let simplified = simplify(&outline, 0.7);
        let part = mesh_polygon(&simplified, max_edge).or_else(|| mesh_polygon(&outline, max_edge));
        if let Some(part) = part {
            let base = mesh.vertices.len() as u32;
            mesh.vertices.extend(part.vertices);
            mesh.triangles.extend(
                part.triangles
                    .iter()
                    .map(|t| [t[0] + base, t[1] + base, t[2] + base]),
            );
        }
    }
    mesh
}

/// Triangulates one closed outline; `None` when its edges cross (simplification can do
/// that on thin features), so the caller retries with the exact outline.
fn mesh_polygon(poly: &[[f32; 2]], max_edge: f32) -> Option<Mesh> {
    let mut cdt = Cdt::new();
    let mut handles = Vec::with_capacity(poly.len());
    for p in poly {
        handles.push(cdt.insert(Point2::new(p[0] as f64, p[1] as f64)).ok()?);
    }
    for i in 0..handles.len() {
        let (a, b) = (handles[i], handles[(i + 1) % handles.len()]);
        if a != b && cdt.try_add_constraint(a, b).is_empty() && !cdt.exists_constraint(a, b) {
            return None;
        }
    }
    let max_area = (max_edge as f64).powi(2) * 0.433;
    let params = RefinementParameters::<f64>::new()
        .exclude_outer_faces(true)
        .with_max_allowed_area(max_area)
        .with_angle_limit(AngleLimit::from_deg(25.0))
        .with_max_additional_vertices(poly.len() * 4 + 20_000);
    let result = cdt.refine(params);
    let excluded: HashSet<_> = result.excluded_faces.into_iter().collect();
    let mut mesh = Mesh::default();
    let mut index = vec![u32::MAX; cdt.num_vertices()];
    for face in cdt.inner_faces() {
        if excluded.contains(&face.fix()) {
            continue;
        }
        let mut tri = [0u32; 3];
        for (k, v) in face.vertices().iter().enumerate() {
            let i = v.fix().index();
            if index[i] == u32::MAX {
                index[i] = mesh.vertices.len() as u32;
                let p = v.position();
                mesh.vertices.push([p.x as f32, p.y as f32]);
            }
            tri[k] = index[i];
        }
        if triangle_area(&mesh.vertices, tri) < 0.0 {
            tri.swap(1, 2);
        }
        mesh.triangles.push(tri);
    }
    (!mesh.triangles.is_empty()).then_some(mesh)
}

/// Signed area of triangle `t` over `positions` (positive = rest orientation).
#[inline]
pub fn triangle_area(positions: &[[f32; 2]], t: [u32; 3]) -> f32 {
    let (a, b, c) = (
        positions[t[0] as usize],
        positions[t[1] as usize],
        positions[t[2] as usize],
    );
    0.5 * ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
}

/// How many triangles a deformation turned inside out (or collapsed to nothing) — the
/// check that keeps skinned limbs from folding over themselves.
pub fn count_flipped_triangles(triangles: &[[u32; 3]], deformed: &[[f32; 2]]) -> usize {
    triangles
        .iter()
        .filter(|&&t| {
            let area = triangle_area(deformed, t);
            area.is_nan() || area <= 1e-6
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc_mask(size: usize, r: f32) -> Mask {
        Mask::disc(size, r)
    }

    #[test]
    fn disc_mesh_is_valid_and_covers_the_disc() {
        let m = disc_mask(64, 25.0);
        let mesh = mesh_mask(&m, 8.0);
        assert!(mesh.triangles.len() > 20, "{}", mesh.triangles.len());
        assert_eq!(count_flipped_triangles(&mesh.triangles, &mesh.vertices), 0);
        let area: f32 = mesh
            .triangles
            .iter()
            .map(|&t| triangle_area(&mesh.vertices, t))
            .sum();
        let pixels = m.count() as f32;
        assert!(
            (area - pixels).abs() < pixels * 0.03,
            "mesh area {area} vs {pixels} pixels"
        );
        for t in &mesh.triangles {
            for k in 0..3 {
                let (a, b) = (
                    mesh.vertices[t[k] as usize],
                    mesh.vertices[t[(k + 1) % 3] as usize],
                );
                let len = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
                assert!(len < 8.0 * 1.6, "edge {len}");
            }
        }
    }

    #[test]
    fn separate_blobs_give_separate_pieces() {
        let mut m = Mask::new(40, 20);
        for y in 2..18 {
            for x in 2..12 {
                m.set(x, y, true);
                m.set(x + 25, y, true);
            }
        }
        let mesh = mesh_mask(&m, 6.0);
        let left = mesh.vertices.iter().filter(|v| v[0] < 20.0).count();
        let right = mesh.vertices.len() - left;
        assert!(left > 4 && right > 4);
        // No triangle bridges the gap.
        for t in &mesh.triangles {
            let xs: Vec<f32> = t.iter().map(|&i| mesh.vertices[i as usize][0]).collect();
            assert!(xs.iter().all(|&x| x < 20.0) || xs.iter().all(|&x| x > 20.0));
        }
    }

    #[test]
    fn flips_are_counted() {
        let v = vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        let t = vec![[0, 1, 2]];
        assert_eq!(count_flipped_triangles(&t, &v), 0);
        let mirrored = vec![[0.0, 0.0], [-1.0, 0.0], [0.0, 1.0]];
        assert_eq!(count_flipped_triangles(&t, &mirrored), 1);
    }
}
