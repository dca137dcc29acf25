//! 200 submissions from 20 concurrent clients: none lost, none duplicated, each ends
//! once. Prints the numbers; asserts no timings (see `--example load` for measurements).

#[path = "../examples/load.rs"]
#[allow(dead_code)]
mod load;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_submissions_all_complete_once() {
    let report = load::run(200, 20).await;
    println!("{report}");
}
