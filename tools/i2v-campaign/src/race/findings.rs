//! How a check reports what it found wrong: shared by the history and audit checks.

/// `Ok` when nothing is wrong; otherwise how many things, and the first few.
pub fn all_ok(bad: Vec<String>) -> Result<(), String> {
    match bad.len() {
        0 => Ok(()),
        n => Err(format!(
            "{n} case(s): {}",
            bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        )),
    }
}
