//! Parity with diffusers: runs every case under `tests/parity/` and under each directory in
//! `KINEMA_PARITY_DIRS` (colon-separated), printing one line per case. Fails when any case
//! fails, cannot be checked (missing files, unknown component), or when no case is found.
//!
//! Regenerate the committed cases with `tools/reference/make_fixtures.py` (see its README).

use candle_core::Device;
use kinema_diffusion::parity;

#[test]
fn parity_cases_match_diffusers() {
    let dirs = match parity::case_dirs() {
        Ok(dirs) => dirs,
        Err(e) => panic!("cannot list parity cases: {e}"),
    };
    assert!(
        !dirs.is_empty(),
        "no parity cases found under {} or {}",
        parity::builtin_dir().display(),
        parity::DIRS_ENV
    );
    let mut problems = Vec::new();
    for dir in &dirs {
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match parity::run_dir(dir, &Device::Cpu) {
            Ok(report) => {
                let verdict = if report.ok() { "ok" } else { "FAIL" };
                println!(
                    "{:<36} {:<16} {:>10.3e}  {verdict}",
                    report.name,
                    report.component,
                    report.max_abs_err()
                );
                for c in report.failures() {
                    problems.push(format!(
                        "{}: out.{} max abs err {:.3e} at flat index {} exceeds tolerance",
                        report.name, c.name, c.max_abs_err, c.worst_index
                    ));
                }
                if report.comparisons.is_empty() {
                    problems.push(format!("{}: nothing was compared", report.name));
                }
            }
            Err(e) => {
                println!("{label:<36} {:<16} {:>10}  FAIL", "?", "-");
                problems.push(format!("{}: cannot check: {e}", dir.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} parity cases failed:\n{}",
        problems.len(),
        dirs.len(),
        problems.join("\n")
    );
}
