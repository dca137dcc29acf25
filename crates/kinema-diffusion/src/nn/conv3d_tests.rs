use super::*;

/// Direct definition of the convolution, in f64, with explicit loops.
#[allow(clippy::too_many_arguments)]
fn naive(
    x: &[f32],
    [b, c, t, h, w]: [usize; 5],
    wt: &[f32],
    [o, kt, kh, kw]: [usize; 4],
    bias: &[f32],
    stride: [usize; 3],
    pad: Pad3d,
    up: usize,
) -> (Vec<f32>, [usize; 5]) {
    let (hv, wv) = (h * up, w * up);
    let to = (t + pad.t.0 + pad.t.1 - kt) / stride[0] + 1;
    let ho = (hv + pad.h.0 + pad.h.1 - kh) / stride[1] + 1;
    let wo = (wv + pad.w.0 + pad.w.1 - kw) / stride[2] + 1;
    let mut out = vec![0f32; b * o * to * ho * wo];
    for bi in 0..b {
        for oc in 0..o {
            for z in 0..to {
                for y in 0..ho {
                    for xx in 0..wo {
                        let mut acc = bias[oc] as f64;
                        for ic in 0..c {
                            for dz in 0..kt {
                                for dy in 0..kh {
                                    for dx in 0..kw {
                                        let iz = (z * stride[0] + dz) as isize - pad.t.0 as isize;
                                        let iy = (y * stride[1] + dy) as isize - pad.h.0 as isize;
                                        let ix = (xx * stride[2] + dx) as isize - pad.w.0 as isize;
                                        if iz < 0
                                            || iy < 0
                                            || ix < 0
                                            || iz >= t as isize
                                            || iy >= hv as isize
                                            || ix >= wv as isize
                                        {
                                            continue;
                                        }
                                        let (iz, iy, ix) =
                                            (iz as usize, iy as usize / up, ix as usize / up);
                                        let xv =
                                            x[(((bi * c + ic) * t + iz) * h + iy) * w + ix] as f64;
                                        let wv_ = wt
                                            [(((oc * c + ic) * kt + dz) * kh + dy) * kw + dx]
                                            as f64;
                                        acc += xv * wv_;
                                    }
                                }
                            }
                        }
                        out[(((bi * o + oc) * to + z) * ho + y) * wo + xx] = acc as f32;
                    }
                }
            }
        }
    }
    (out, [b, o, to, ho, wo])
}

fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    // Small deterministic LCG: fixtures made by code, no RNG dependency.
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        })
        .collect()
}

struct Case {
    x: [usize; 5],
    o: usize,
    k: [usize; 3],
    stride: [usize; 3],
    pad: Pad3d,
    up: usize,
}

fn check(case: &Case, device: &Device, kernel: CpuConvKernel) {
    let [b, c, t, h, w] = case.x;
    let xs = rand_vec(b * c * t * h * w, 1);
    let ws = rand_vec(case.o * c * case.k.iter().product::<usize>(), 2);
    let bs = rand_vec(case.o, 3);
    let (want, dims) = naive(
        &xs,
        case.x,
        &ws,
        [case.o, case.k[0], case.k[1], case.k[2]],
        &bs,
        case.stride,
        case.pad,
        case.up,
    );
    let x = Tensor::from_vec(xs, case.x.to_vec(), device).unwrap();
    let wt =
        Tensor::from_vec(ws, vec![case.o, c, case.k[0], case.k[1], case.k[2]], device).unwrap();
    let bt = Tensor::from_vec(bs, case.o, device).unwrap();
    let conv = Conv3d::new(
        wt,
        Some(bt),
        Conv3dConfig {
            stride: case.stride,
            padding: case.pad,
        },
    )
    .unwrap()
    .with_cpu_kernel(kernel);
    let got = conv.forward_with(&x, case.pad, case.up).unwrap();
    assert_eq!(got.dims(), dims);
    let got = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let max_err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        max_err < 1e-4,
        "{kernel:?} x {:?} k {:?} up {}: max err {max_err}",
        case.x,
        case.k,
        case.up
    );
}

fn cases() -> Vec<Case> {
    let p = Pad3d::symmetric;
    vec![
        Case {
            x: [1, 3, 4, 5, 6],
            o: 4,
            k: [3, 3, 3],
            stride: [1, 1, 1],
            pad: p(1, 1, 1),
            up: 1,
        },
        // Causal: all time padding on the past side.
        Case {
            x: [2, 5, 3, 4, 4],
            o: 3,
            k: [3, 3, 3],
            stride: [1, 1, 1],
            pad: Pad3d {
                t: (2, 0),
                h: (1, 1),
                w: (1, 1),
            },
            up: 1,
        },
        // Temporal stride 2 (Wan's downsample time_conv) and spatial stride with asymmetric pad.
        Case {
            x: [1, 4, 5, 3, 3],
            o: 2,
            k: [3, 1, 1],
            stride: [2, 1, 1],
            pad: Pad3d::default(),
            up: 1,
        },
        Case {
            x: [1, 3, 2, 7, 6],
            o: 5,
            k: [1, 3, 3],
            stride: [1, 2, 2],
            pad: Pad3d {
                t: (0, 0),
                h: (0, 1),
                w: (0, 1),
            },
            up: 1,
        },
        // Pointwise (1×1×1) fast path and upsample folded into the gather.
        Case {
            x: [2, 6, 3, 4, 5],
            o: 7,
            k: [1, 1, 1],
            stride: [1, 1, 1],
            pad: Pad3d::default(),
            up: 1,
        },
        Case {
            x: [1, 3, 2, 3, 4],
            o: 4,
            k: [1, 3, 3],
            stride: [1, 1, 1],
            pad: p(0, 1, 1),
            up: 2,
        },
        // Padding larger than the input in time: frames made only of padding are bias.
        Case {
            x: [1, 2, 1, 3, 3],
            o: 2,
            k: [3, 3, 3],
            stride: [1, 1, 1],
            pad: Pad3d {
                t: (4, 0),
                h: (1, 1),
                w: (1, 1),
            },
            up: 1,
        },
        // Winograd edges: odd output sizes (partial 2×2 tiles), asymmetric spatial padding,
        // temporal stride, upsample folded into the tile gather, and a batch of two.
        Case {
            x: [2, 4, 5, 7, 5],
            o: 3,
            k: [3, 3, 3],
            stride: [2, 1, 1],
            pad: Pad3d {
                t: (2, 0),
                h: (0, 1),
                w: (1, 0),
            },
            up: 1,
        },
        Case {
            x: [1, 3, 2, 3, 5],
            o: 2,
            k: [3, 3, 3],
            stride: [1, 1, 1],
            pad: Pad3d {
                t: (2, 0),
                h: (1, 1),
                w: (1, 1),
            },
            up: 2,
        },
        // Large enough for `Auto` to choose Winograd on its own, with several tile blocks.
        Case {
            x: [1, 40, 3, 9, 11],
            o: 36,
            k: [3, 3, 3],
            stride: [1, 1, 1],
            pad: Pad3d {
                t: (2, 0),
                h: (1, 1),
                w: (1, 1),
            },
            up: 1,
        },
    ]
}

#[test]
fn cpu_kernels_match_direct_definition() {
    for case in cases() {
        for kernel in [
            CpuConvKernel::Auto,
            CpuConvKernel::Im2col,
            CpuConvKernel::Winograd,
        ] {
            check(&case, &Device::Cpu, kernel);
        }
    }
}

#[test]
fn winograd_blocks_of_any_width_agree_with_im2col() {
    // 9×11 output = 5×6 tiles; blocks of 1, 7 and 30 tiles cut rows at different places.
    let g = Geometry {
        batch: 2,
        c_in: 5,
        t_in: 3,
        h_in: 9,
        w_in: 11,
        c_out: 4,
        kernel: [3, 3, 3],
        stride: [1, 1, 1],
        pad: [(2, 0), (1, 1), (1, 1)],
        upsample: 1,
    };
    let x = rand_vec(2 * 5 * 3 * 9 * 11, 7);
    let w = rand_vec(3 * 4 * 5 * 9, 8);
    let bias = rand_vec(4, 9);
    let want = conv3d_f32(&x, &w, Some(&bias), &g);
    for block in [1, 7, 30] {
        let got = conv3d_winograd::conv3d_winograd_blocked(&x, &w, Some(&bias), &g, block);
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-4, "block {block}: max err {err}");
    }
}

#[test]
fn auto_chooses_winograd_only_where_it_pays() {
    // Causal padding of two past frames: as many output frames as input frames `t`.
    let g = |c: usize, o: usize, k: [usize; 3], t: usize, hw: usize, stride: usize| Geometry {
        batch: 1,
        c_in: c,
        t_in: t,
        h_in: hw,
        w_in: hw,
        c_out: o,
        kernel: k,
        stride: [1, stride, stride],
        pad: [(2, 0), (1, 1), (1, 1)],
        upsample: 1,
    };
    assert!(conv3d_winograd::worthwhile(&g(
        256,
        256,
        [3, 3, 3],
        3,
        64,
        1
    )));
    // The decoder's 12-channel output head gains too (measured 1.8×).
    assert!(conv3d_winograd::worthwhile(&g(
        256,
        12,
        [3, 3, 3],
        3,
        64,
        1
    )));
    // One 16×16 output frame is too little work to pay for transforming 1024² weights.
    assert!(!conv3d_winograd::worthwhile(&g(
        1024,
        1024,
        [3, 3, 3],
        1,
        16,
        1
    )));
    // Three channels (an RGB input layer) keep the deeper im2col GEMM.
    assert!(!conv3d_winograd::worthwhile(&g(3, 96, [3, 3, 3], 3, 64, 1)));
    assert!(!conv3d_winograd::supports(&g(
        256,
        256,
        [1, 1, 1],
        3,
        64,
        1
    )));
    // Strided (downsampling) convolutions cannot use F(2×2, 3×3).
    assert!(!conv3d_winograd::supports(&g(
        256,
        256,
        [1, 3, 3],
        3,
        64,
        2
    )));
}

#[test]
fn conv2d_path_matches_direct_definition() {
    // Exercise the portable path on the CPU by calling it directly.
    for case in cases() {
        let [b, c, t, h, w] = case.x;
        let xs = rand_vec(b * c * t * h * w, 4);
        let ws = rand_vec(case.o * c * case.k.iter().product::<usize>(), 5);
        let bs = rand_vec(case.o, 6);
        let (want, dims) = naive(
            &xs,
            case.x,
            &ws,
            [case.o, case.k[0], case.k[1], case.k[2]],
            &bs,
            case.stride,
            case.pad,
            case.up,
        );
        let x = Tensor::from_vec(xs, case.x.to_vec(), &Device::Cpu).unwrap();
        let wt = Tensor::from_vec(
            ws,
            vec![case.o, c, case.k[0], case.k[1], case.k[2]],
            &Device::Cpu,
        )
        .unwrap();
        let bt = Tensor::from_vec(bs, case.o, &Device::Cpu).unwrap();
        let g = Geometry {
            batch: b,
            c_in: c,
            t_in: t,
            h_in: h,
            w_in: w,
            c_out: case.o,
            kernel: case.k,
            stride: case.stride,
            pad: [case.pad.t, case.pad.h, case.pad.w],
            upsample: case.up,
        };
        let got = conv3d_by_conv2d(&x, &wt, Some(&bt), &g).unwrap();
        assert_eq!(got.dims(), dims);
        let got = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let max_err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_err < 1e-4, "max err {max_err}");
    }
}

#[test]
fn causal_conv_with_cache_equals_whole_sequence() {
    let dev = Device::Cpu;
    let x = Tensor::from_vec(rand_vec(2 * 7 * 4 * 4, 7), (1, 2, 7, 4, 4), &dev).unwrap();
    let wt = Tensor::from_vec(rand_vec(3 * 2 * 27, 8), (3, 2, 3, 3, 3), &dev).unwrap();
    let bias = Tensor::from_vec(rand_vec(3, 9), 3, &dev).unwrap();
    let config = Conv3dConfig {
        stride: [1, 1, 1],
        padding: Pad3d::symmetric(0, 1, 1),
    };
    let conv = CausalConv3d::from_conv(Conv3d::new(wt, Some(bias), config).unwrap(), 2);
    let whole = conv.forward(&x, None).unwrap();
    // Chunks of 1 then 3 then 3 frames, carrying the last CACHE_T input frames.
    let first = x.narrow(2, 0, 1).unwrap();
    let a = conv.forward(&first, None).unwrap();
    let cache1 = first.clone();
    let mid = x.narrow(2, 1, 3).unwrap();
    let b = conv.forward(&mid, Some(&cache1)).unwrap();
    let cache2 = x.narrow(2, 2, 2).unwrap();
    let c = conv
        .forward(&x.narrow(2, 4, 3).unwrap(), Some(&cache2))
        .unwrap();
    let chunked = Tensor::cat(&[a, b, c], 2).unwrap();
    let diff = (whole - chunked)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-5, "chunked differs by {diff}");
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let dev = Device::Cpu;
    let wt = Tensor::zeros((2, 3, 3, 3, 3), DType::F32, &dev).unwrap();
    let conv = Conv3d::new(wt, None, Conv3dConfig::default()).unwrap();
    let wrong_channels = Tensor::zeros((1, 4, 3, 3, 3), DType::F32, &dev).unwrap();
    assert!(conv
        .forward(&wrong_channels)
        .unwrap_err()
        .message
        .contains("3 input channels"));
    let too_small = Tensor::zeros((1, 3, 2, 3, 3), DType::F32, &dev).unwrap();
    assert!(conv.forward(&too_small).is_err());
    let rank4 = Tensor::zeros((1, 3, 3, 3), DType::F32, &dev).unwrap();
    assert!(conv.forward(&rank4).is_err());
    let bad_bias = Tensor::zeros(5, DType::F32, &dev).unwrap();
    let wt = Tensor::zeros((2, 3, 1, 1, 1), DType::F32, &dev).unwrap();
    assert!(Conv3d::new(wt, Some(bad_bias), Conv3dConfig::default()).is_err());
}

#[test]
fn half_precision_inputs_round_trip_their_dtype() {
    let dev = Device::Cpu;
    let x = Tensor::from_vec(rand_vec(2 * 3 * 4 * 4, 10), (1, 2, 3, 4, 4), &dev)
        .unwrap()
        .to_dtype(DType::BF16)
        .unwrap();
    let wt = Tensor::from_vec(rand_vec(2 * 2 * 27, 11), (2, 2, 3, 3, 3), &dev)
        .unwrap()
        .to_dtype(DType::BF16)
        .unwrap();
    let conv = Conv3d::new(
        wt,
        None,
        Conv3dConfig {
            stride: [1, 1, 1],
            padding: Pad3d::symmetric(1, 1, 1),
        },
    )
    .unwrap();
    let y = conv.forward(&x).unwrap();
    assert_eq!(y.dtype(), DType::BF16);
    assert_eq!(y.dims(), [1, 2, 3, 4, 4]);
}

/// Convolutions run from rayon tasks (an eval suite runs engines in parallel): a worker
/// that picks up another convolution while inside one must not trip over its scratch
/// buffers, and every result must equal the sequential one.
#[test]
fn winograd_is_safe_inside_rayon_tasks() {
    use rayon::prelude::*;
    let (c, o, t, hw) = (16, 16, 3, 24);
    let x = Tensor::from_vec(
        rand_vec(c * t * hw * hw, 11),
        (1, c, t, hw, hw),
        &Device::Cpu,
    )
    .unwrap();
    let w = Tensor::from_vec(rand_vec(o * c * 27, 12), (o, c, 3, 3, 3), &Device::Cpu).unwrap();
    let conv = Conv3d::new(
        w,
        None,
        Conv3dConfig {
            stride: [1, 1, 1],
            padding: Pad3d::symmetric(1, 1, 1),
        },
    )
    .unwrap()
    .with_cpu_kernel(CpuConvKernel::Winograd);
    let want = conv
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let got: Vec<Vec<f32>> = (0..16)
        .into_par_iter()
        .map(|_| {
            conv.forward(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        })
        .collect();
    for g in got {
        assert_eq!(g, want);
    }
}
