//! `--include` / `--exclude` file patterns with the meaning `huggingface-cli download`
//! gives them (Python `fnmatch`): `*` matches any run of characters, `/` included, and
//! `?` one character. `vae/*` is the VAE folder, `*.bin` every PyTorch pickle.

/// Whether `path` passes the filters: it matches an include pattern (or there are
/// none) and no exclude pattern.
pub fn selected(path: &str, include: &[String], exclude: &[String]) -> bool {
    let included = include.is_empty() || include.iter().any(|p| matches(p, path));
    included && !exclude.iter().any(|p| matches(p, path))
}

/// Glob match over bytes with backtracking on the last `*`: linear for every pattern
/// people write, never exponential.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_fnmatch() {
        assert!(matches("*.json", "vae/config.json"));
        assert!(matches("vae/*", "vae/diffusion_pytorch_model.safetensors"));
        assert!(!matches("vae/*", "transformer/config.json"));
        assert!(matches("t?xt", "text"));
        assert!(matches("*", ""));
        assert!(!matches("a*b", "a/c"));
        assert!(matches(
            "*model-0000?-of-*",
            "transformer/model-00002-of-00003.st"
        ));
        assert!(!matches("*.bin", "model.binx"));
    }

    #[test]
    fn include_and_exclude_combine() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(selected("a.bin", &[], &[]));
        assert!(!selected("a.bin", &[], &s(&["*.bin"])));
        assert!(selected("vae/x", &s(&["vae/*", "*.json"]), &[]));
        assert!(!selected("tokenizer/x", &s(&["vae/*"]), &[]));
        assert!(!selected("vae/x.bin", &s(&["vae/*"]), &s(&["*.bin"])));
    }
}
