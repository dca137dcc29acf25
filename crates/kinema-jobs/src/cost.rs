//! Asking before paying: a request or batch that uses a billed engine shows its estimated
//! cost and runs only with the user's consent (`--yes`, a `--max-cost` it stays under, or
//! a "y" at the terminal).

use kinema_core::{CostEstimate, Error, Result};

/// What the user said about spending.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Consent {
    /// `--yes`: go ahead whatever the estimate.
    pub yes: bool,
    /// `--max-cost USD`: go ahead when the estimate is at most this.
    pub max_usd: Option<f64>,
    /// A person can be asked (stdin and stderr are a terminal).
    pub interactive: bool,
}

/// The estimate in one line, for the question and the logs.
pub fn describe(cost: &CostEstimate) -> String {
    format!(
        "{}: about ${:.2} for {:.0} s of video, usually ready in about {}",
        cost.what,
        cost.usd,
        cost.video_seconds,
        minutes(cost.typical_wait_s)
    )
}

fn minutes(seconds: u64) -> String {
    if seconds < 90 {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds.div_ceil(60))
    }
}

/// Decides whether to go ahead; `ask` puts a yes/no question to the person at the terminal.
pub fn confirm(
    cost: &CostEstimate,
    consent: &Consent,
    ask: &mut dyn FnMut(&str) -> std::io::Result<bool>,
) -> Result<()> {
    if let Some(max) = consent.max_usd {
        return if cost.usd <= max + 1e-9 {
            Ok(())
        } else {
            Err(Error::invalid(
                format!(
                    "the estimated cost ${:.2} is over --max-cost {max:.2} ({})",
                    cost.usd, cost.what
                ),
                "raise --max-cost, or ask for fewer or shorter clips (a lower --fps or --frames)",
            ))
        };
    }
    if consent.yes {
        return Ok(());
    }
    if consent.interactive {
        let question = format!("{}. Submit? [y/N] ", describe(cost));
        return match ask(&question) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::invalid(
                "not submitted: nothing was paid or written",
                "run again and answer y, or pass --yes",
            )),
            Err(e) => Err(
                Error::invalid("cannot read the answer", "pass --yes or --max-cost USD")
                    .with_source(e),
            ),
        };
    }
    Err(Error::invalid(
        format!(
            "this would cost money ({}) and there is no terminal to ask",
            describe(cost)
        ),
        "confirm with --yes, or cap the spend with --max-cost USD",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(usd: f64) -> CostEstimate {
        CostEstimate {
            usd,
            video_seconds: 5.0,
            typical_wait_s: 60,
            what: "Runway gen4_turbo, 5 s".into(),
        }
    }

    #[test]
    fn consent_comes_from_yes_a_cap_or_the_terminal() {
        let mut never = |_: &str| -> std::io::Result<bool> { panic!("must not ask") };
        let yes = Consent {
            yes: true,
            ..Default::default()
        };
        assert!(confirm(&cost(9.0), &yes, &mut never).is_ok());
        let capped = Consent {
            max_usd: Some(0.5),
            yes: true,
            ..Default::default()
        };
        assert!(confirm(&cost(0.25), &capped, &mut never).is_ok());
        let e = confirm(&cost(0.75), &capped, &mut never).unwrap_err();
        assert!(e.message.contains("$0.75 is over --max-cost 0.50"), "{e}");
        let e = confirm(&cost(0.25), &Consent::default(), &mut never).unwrap_err();
        assert!(e.hint.unwrap().contains("--yes"), "no terminal: refused");
        let tty = Consent {
            interactive: true,
            ..Default::default()
        };
        let mut asked = Vec::new();
        let mut say_yes = |q: &str| {
            asked.push(q.to_string());
            Ok(true)
        };
        assert!(confirm(&cost(0.25), &tty, &mut say_yes).is_ok());
        assert!(
            asked[0].contains("about $0.25") && asked[0].ends_with("[y/N] "),
            "{asked:?}"
        );
        let mut say_no = |_: &str| Ok(false);
        assert!(confirm(&cost(0.25), &tty, &mut say_no)
            .unwrap_err()
            .message
            .contains("not submitted"));
    }
}
