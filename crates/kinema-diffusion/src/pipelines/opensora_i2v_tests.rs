use candle_core::{Device, Tensor};

use super::*;

#[test]
fn frame_counts_must_be_four_k_plus_one() {
    assert_eq!(latent_frames(1).unwrap(), 1);
    assert_eq!(latent_frames(33).unwrap(), 9);
    assert_eq!(latent_frames(129).unwrap(), 33);
    let e = latent_frames(32).unwrap_err();
    assert!(e.message.contains("4k+1"), "{}", e.message);
    assert!(
        e.hint.as_deref().unwrap_or("").contains("29 or 33"),
        "{:?}",
        e.hint
    );
    assert!(latent_frames(0).is_err());
}

#[test]
fn pack_orders_channels_then_subpixels_and_unpack_inverts_it() {
    let d = Device::Cpu;
    // [1, 2, 1, 2, 4]: two channels, one frame, 2×4 → 1×2 tokens of 2·4 values.
    let x = Tensor::arange(0f32, 16., &d)
        .unwrap()
        .reshape((1, 2, 1, 2, 4))
        .unwrap();
    let p = pack(&x, 2).unwrap();
    assert_eq!(p.dims(), &[1, 2, 8]);
    let first: Vec<f32> = p.get(0).unwrap().get(0).unwrap().to_vec1().unwrap();
    // Token (row 0, col 0): channel 0's 2×2 patch (0,1,4,5), then channel 1's (8,9,12,13).
    assert_eq!(first, vec![0., 1., 4., 5., 8., 9., 12., 13.]);
    let back = unpack(&p, 1, 1, 2, 2).unwrap();
    let diff = (back - &x)
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);
}

#[test]
fn condition_puts_the_mask_subpixels_first_on_frame_zero_only() {
    let d = Device::Cpu;
    let reference = Tensor::full(2f32, (1, 3, 1, 2, 2), &d).unwrap();
    let cond = head_condition(&reference, 2, 2).unwrap();
    assert_eq!(cond.dims(), &[1, 2, 16]);
    let tokens: Vec<Vec<f32>> = cond.get(0).unwrap().to_vec2().unwrap();
    assert_eq!(&tokens[0][..4], &[1., 1., 1., 1.]);
    assert!(tokens[0][4..].iter().all(|&v| v == 2.0));
    assert!(
        tokens[1].iter().all(|&v| v == 0.0),
        "frame 1 carries no condition"
    );
}

#[test]
fn position_ids_count_frames_rows_and_columns() {
    let ids: Vec<Vec<f32>> = position_ids(2, 1, 2, &Device::Cpu)
        .unwrap()
        .to_vec2()
        .unwrap();
    assert_eq!(
        ids,
        vec![
            vec![0., 0., 0.],
            vec![0., 0., 1.],
            vec![1., 0., 0.],
            vec![1., 0., 1.]
        ]
    );
}

#[test]
fn temporal_image_scale_rises_along_frames_and_falls_over_steps() {
    let d = Device::Cpu;
    let s: Vec<f32> = temporal_image_scale(3.0, 0, 5, 3, 2, &d)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(s, vec![1., 1., 2., 2., 3., 3.]);
    let last: Vec<f32> = temporal_image_scale(3.0, 4, 5, 3, 1, &d)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(last, vec![1., 1., 1.]);
}
