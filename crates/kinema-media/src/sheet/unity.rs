//! Unity `TextureImporter` meta files (`PATH.png.meta`) that slice the sheet into sprites.
//!
//! Dropping `hero.png` and `hero.png.meta` into `Assets/` gives one sprite per frame,
//! named like the other atlases. Unity rects start at the texture's bottom-left, so a
//! rect's y is `sheet_height - top - height`. Every sprite uses a custom pivot
//! (alignment 9) at the bottom centre of the *untrimmed* frame (the feet, on the shared
//! ground line), expressed relative to its own rect: trimmed frames get pivots outside
//! 0..1, which Unity accepts, so all frames stand on the same spot.
//!
//! The `guid` is derived from the PNG's file name so re-exporting keeps scene references;
//! sprite IDs derive from the guid and frame names so they are stable too.

use std::collections::HashSet;
use std::fmt::Write;

use kinema_core::Result;

use super::gameplay::unity_user_data;
use super::SheetLayout;

/// Unity's default; world size of a frame is its pixel size / 100.
const PIXELS_PER_UNIT: u32 = 100;

/// A 32-hex-digit Unity asset GUID that depends only on `file_name`.
pub fn unity_guid(file_name: &str) -> String {
    let a = fnv1a64(0xcbf2_9ce4_8422_2325, &["kinema-guid-a:", file_name]);
    let b = fnv1a64(0x8422_2325_cbf2_9ce4, &["kinema-guid-b:", file_name]);
    format!("{a:016x}{b:016x}")
}

/// The `.meta` text for a sheet saved as `image_file`.
pub fn unity_meta(layout: &SheetLayout, image_file: &str) -> Result<String> {
    layout.check()?;
    let guid = unity_guid(image_file);
    // Gameplay metadata as JSON in a double-quoted YAML scalar.
    let user_data = unity_user_data(layout)
        .map(|json| format!("\"{}\"", json.replace('\\', "\\\\").replace('"', "\\\"")))
        .unwrap_or_default();
    let filter_mode = if layout.pixel_art() { 0 } else { 1 };
    let max_side = layout.width.max(layout.height);
    let max_texture_size = (5..=14)
        .map(|p| 1u32 << p)
        .find(|&s| s >= max_side)
        .unwrap_or(16384);

    let mut used_ids = HashSet::new();
    let mut sprites = String::new();
    let mut table = String::new();
    for f in &layout.frames {
        let r = f.rect;
        let (sw, sh) = (f64::from(f.source_size.0), f64::from(f.source_size.1));
        let (ox, oy) = (f64::from(f.offset.0), f64::from(f.offset.1));
        let (w, h) = (f64::from(r.w), f64::from(r.h));
        let pivot_x = (sw / 2.0 - ox) / w;
        let pivot_y = (oy + h - sh) / h;
        let name = yaml_name(&f.name);
        let internal_id = internal_id(&guid, &f.name, &mut used_ids);
        let sprite_id = format!(
            "{:016x}{:016x}",
            fnv1a64(0x1000_0000_01b3, &[&guid, "/sprite/", &f.name]),
            fnv1a64(0x0100_0000_01b3, &[&f.name, "/sprite/", &guid])
        );
        let _ = write!(
            sprites,
            "    - serializedVersion: 2\n      name: {name}\n      rect:\n        serializedVersion: 2\n        x: {}\n        y: {}\n        width: {}\n        height: {}\n      alignment: 9\n      pivot: {{x: {pivot_x}, y: {pivot_y}}}\n      border: {{x: 0, y: 0, z: 0, w: 0}}\n      outline: []\n      physicsShape: []\n      tessellationDetail: 0\n      bones: []\n      spriteID: {sprite_id}\n      internalID: {internal_id}\n      vertices: []\n      indices: \n      edges: []\n      weights: []\n",
            r.x,
            layout.height - r.y - r.h,
            r.w,
            r.h,
        );
        let _ = writeln!(table, "      {name}: {internal_id}");
    }
    if layout.frames.is_empty() {
        sprites.push_str("    []\n");
        table.push_str("      {}\n");
    }

    Ok(format!(
        "fileFormatVersion: 2
guid: {guid}
TextureImporter:
  internalIDToNameTable: []
  externalObjects: {{}}
  serializedVersion: 12
  mipmaps:
    mipMapMode: 0
    enableMipMap: 0
    sRGBTexture: 1
    linearTexture: 0
    fadeOut: 0
    borderMipMap: 0
    mipMapsPreserveCoverage: 0
    alphaTestReferenceValue: 0.5
    mipMapFadeDistanceStart: 1
    mipMapFadeDistanceEnd: 3
  bumpmap:
    convertToNormalMap: 0
    externalNormalMap: 0
    heightScale: 0.25
    normalMapFilter: 0
  isReadable: 0
  streamingMipmaps: 0
  streamingMipmapsPriority: 0
  grayScaleToAlpha: 0
  generateCubemap: 6
  cubemapConvolution: 0
  seamlessCubemap: 0
  textureFormat: 1
  maxTextureSize: {max_texture_size}
  textureSettings:
    serializedVersion: 2
    filterMode: {filter_mode}
    aniso: 1
    mipBias: 0
    wrapU: 1
    wrapV: 1
    wrapW: 1
  nPOTScale: 0
  lightmap: 0
  compressionQuality: 50
  spriteMode: 2
  spriteExtrude: 1
  spriteMeshType: 1
  alignment: 9
  spritePivot: {{x: 0.5, y: 0}}
  spritePixelsToUnits: {PIXELS_PER_UNIT}
  spriteBorder: {{x: 0, y: 0, z: 0, w: 0}}
  spriteGenerateFallbackPhysicsShape: 1
  alphaUsage: 1
  alphaIsTransparency: 1
  spriteTessellationDetail: -1
  textureType: 8
  textureShape: 1
  singleChannelComponent: 0
  maxTextureSizeSet: 0
  compressionQualitySet: 0
  textureFormatSet: 0
  ignorePngGamma: 0
  applyGammaDecoding: 0
  platformSettings:
  - serializedVersion: 3
    buildTarget: DefaultTexturePlatform
    maxTextureSize: {max_texture_size}
    resizeAlgorithm: 0
    textureFormat: -1
    textureCompression: 0
    compressionQuality: 50
    crunchedCompression: 0
    allowsAlphaSplitting: 0
    overridden: 0
    androidETC2FallbackOverride: 0
    forceMaximumCompressionQuality_BC6H_BC7: 0
  spriteSheet:
    serializedVersion: 2
    sprites:
{sprites}    outline: []
    physicsShape: []
    bones: []
    spriteID: 
    internalID: 0
    vertices: []
    indices: 
    edges: []
    weights: []
    secondaryTextures: []
    nameFileIdTable:
{table}  spritePackingTag: 
  pSDRemoveMatte: 0
  pSDShowRemoveMatteOption: 0
  userData: {user_data}
  assetBundleName: 
  assetBundleVariant: 
"
    ))
}

/// A frame name as a YAML scalar: plain when it cannot be mistaken for a number or
/// keyword (`1_0000` would read as 10000 in YAML 1.1), double-quoted otherwise.
fn yaml_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        name.to_string()
    } else {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

/// A stable, non-zero, file-unique sprite file ID (Unity's `internalID`).
fn internal_id(guid: &str, name: &str, used: &mut HashSet<i64>) -> i64 {
    let mut salt = 0u32;
    loop {
        let h = fnv1a64(
            0xcbf2_9ce4_8422_2325,
            &[guid, "/internal/", name, &salt.to_string()],
        );
        // Positive and well inside i64 so every YAML reader keeps it exact.
        let id = (h >> 2) as i64;
        if id != 0 && used.insert(id) {
            return id;
        }
        salt += 1;
    }
}

/// FNV-1a over the concatenated parts: tiny, stable across platforms and releases.
fn fnv1a64(seed: u64, parts: &[&str]) -> u64 {
    let mut h = seed;
    for b in parts.iter().flat_map(|p| p.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_is_stable_hex_and_depends_on_the_name() {
        let g = unity_guid("hero.png");
        assert_eq!(g.len(), 32);
        assert!(g.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(g, unity_guid("hero.png"));
        assert_ne!(g, unity_guid("hero2.png"));
    }

    #[test]
    fn names_that_look_like_numbers_are_quoted() {
        assert_eq!(yaml_name("walk_0001"), "walk_0001");
        assert_eq!(yaml_name("1_0000"), "\"1_0000\"");
        assert_eq!(yaml_name("挥手_0000"), "\"挥手_0000\"");
    }

    #[test]
    fn internal_ids_never_repeat() {
        let mut used = HashSet::new();
        let a = internal_id("g", "x", &mut used);
        let b = internal_id("g", "x", &mut used);
        assert_ne!(a, b);
        assert!(a > 0 && b > 0);
    }
}
