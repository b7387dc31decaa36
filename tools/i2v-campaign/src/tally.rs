//! Counts invariant checks and prints the campaign's verdict: `N passed, M failed`.

use std::process::ExitCode;

#[derive(Default)]
pub struct Tally {
    passed: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Records one check; a failure is printed at once, with where it happened.
    pub fn check(&mut self, round: &str, what: &str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.passed += 1,
            Err(why) => {
                let line = format!("FAILED [{round}] {what}: {why}");
                eprintln!("{line}");
                self.failures.push(line);
            }
        }
    }

    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// Prints the verdict (and every failure again, so they are not lost in the progress lines)
    /// and turns it into the exit code.
    pub fn finish(&self, campaign: &str) -> ExitCode {
        for line in &self.failures {
            println!("{line}");
        }
        println!(
            "{campaign}: {} passed, {} failed",
            self.passed,
            self.failures.len()
        );
        if self.failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_passes_and_failures() {
        let mut t = Tally::default();
        t.check("r1", "a", Ok(()));
        t.check("r1", "b", Err("broken".into()));
        t.check("r2", "a", Ok(()));
        assert_eq!((t.passed, t.failed()), (2, 1));
        assert_eq!(t.finish("x"), ExitCode::FAILURE);
    }
}
