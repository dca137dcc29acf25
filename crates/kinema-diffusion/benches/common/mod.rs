//! What the CPU benchmarks share: two threads unless `RAYON_NUM_THREADS` says otherwise
//! (the reference scripts default to `OMP_NUM_THREADS=2` too), and `--iters N`.

/// Sets the thread default and returns `--iters` (or `default_iters`).
pub fn threads_and_iters(default_iters: usize) -> usize {
    if std::env::var("RAYON_NUM_THREADS").is_err() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_iters)
}
