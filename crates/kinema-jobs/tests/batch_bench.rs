//! Batch throughput: 8 characters × 6 actions, one job at a time versus one per core.
//! A benchmark, not a test: `cargo test --release -p kinema-jobs --test batch_bench -- --ignored --nocapture`.

use std::path::Path;
use std::time::Instant;

use kinema_jobs::batch::{run_batch, BatchOptions, Manifest};

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/characters")
        .join(name)
        .display()
        .to_string()
}

/// The four sample characters twice: natural size and scaled ×2, under different names.
fn manifest_text() -> String {
    let mut s = String::from(
        "[defaults]\nfps = 12\nframes = 12\nformats = [\"gif\"]\nsheet = true\n\
         [[action]]\nactions = [\"idle\", \"walk\", \"jump\", \"wave\", \"attack\", \"hurt\"]\n",
    );
    for (i, img) in [
        "femaleAdventurer_idle.png",
        "alienBlue_front.png",
        "slimeBlue.png",
        "ladybug.png",
    ]
    .iter()
    .enumerate()
    {
        for scale in [1, 2] {
            s.push_str(&format!(
                "[[character]]\nname = \"c{i}x{scale}\"\nimage = {:?}\nscale = {scale}\n",
                sample(img)
            ));
        }
    }
    s
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn eight_characters_by_six_actions_parallel_vs_serial() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut times = Vec::new();
    for jobs in [1, cores] {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bench.toml");
        std::fs::write(&path, manifest_text()).unwrap();
        let m = Manifest::load(&path).unwrap();
        let t = Instant::now();
        let s = run_batch(&m, &BatchOptions { force: false, jobs }, &|_| {}).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(s.done, 8, "{}", s.to_text());
        println!("--jobs {jobs}: {secs:.2} s for 8 jobs (48 clips)");
        times.push(secs);
        let t = Instant::now();
        let again = run_batch(&m, &BatchOptions { force: false, jobs }, &|_| {}).unwrap();
        assert_eq!(again.skipped, 8);
        println!(
            "  resumed run (all skipped): {:.3} s",
            t.elapsed().as_secs_f64()
        );
    }
    println!("speed-up with {cores} jobs: {:.2}x", times[0] / times[1]);
}
