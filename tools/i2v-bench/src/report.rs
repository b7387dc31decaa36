//! The one table the HTTP benchmarks print (Markdown, so a run pastes into docs/benchmarks.md),
//! with each row's figure from the previous run beside it, so a regression shows.
//!
//! A run's figures are saved as JSON (`Figures`), by default under `tools/i2v-bench/figures/`,
//! one file per benchmark and backend; the next run reads that file for its "previous" column and
//! then replaces it. The files are committed with the figures docs/benchmarks.md shows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::load::Tally;

/// Where a benchmark's figures are kept between runs unless `--figures` says otherwise.
pub fn default_figures(bench: &str, backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("figures")
        .join(format!("{bench}-{}.json", backend.to_lowercase()))
}

/// One run's figures, as saved: each row's headline value, by case and stored-video count.
#[derive(Default, Serialize, Deserialize)]
pub struct Figures {
    /// Seconds since the Unix epoch when the run ended.
    pub recorded_at_unix: u64,
    pub load_average_before: String,
    pub load_average_after: String,
    pub rows: Vec<SavedRow>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedRow {
    pub case: String,
    pub rows: String,
    /// Calls per second of a measured row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// The value of a derived row (a ratio, a memory reading), as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<String>,
}

impl Figures {
    /// The figures saved at `path`; none when there is no file yet.
    pub fn read(path: &Path) -> anyhow::Result<Figures> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a figures file", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Figures::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn by_row(&self) -> HashMap<(&str, &str), &SavedRow> {
        self.rows
            .iter()
            .map(|r| ((r.case.as_str(), r.rows.as_str()), r))
            .collect()
    }
}

pub struct Row {
    pub case: String,
    pub rows: String,
    rate_value: Option<f64>,
    pub rate: String,
    pub p50: String,
    pub p99: String,
    pub errors: String,
    pub cpu: String,
    pub store_cpu: String,
    pub reference: String,
    pub ratio: String,
    pub target: String,
    pub met: String,
    /// The previous run's figure for this row: its req/s (with the change), or its value.
    pub previous: String,
}

/// Where the previous run's figures come from, and whether this run's replace them.
#[derive(clap::Args, Clone)]
pub struct FiguresArgs {
    /// The figures file the "previous run" column reads and this run then replaces (default:
    /// tools/i2v-bench/figures/<bench>-<backend>.json in the source tree).
    #[arg(long)]
    pub figures: Option<PathBuf>,
    /// Compare with the figures file but leave it as it is.
    #[arg(long)]
    pub no_save: bool,
}

impl FiguresArgs {
    pub fn path(&self, bench: &str, backend: &str) -> PathBuf {
        self.figures
            .clone()
            .unwrap_or_else(|| default_figures(bench, backend))
    }

    /// Saves the table's figures unless told not to, and says where.
    pub fn save(
        &self,
        table: &Table,
        path: &Path,
        before: String,
        after: String,
    ) -> anyhow::Result<()> {
        if self.no_save {
            return Ok(());
        }
        table.save(path, before, after)?;
        println!(
            "figures saved to {} (the next run's \"previous run\")",
            path.display()
        );
        Ok(())
    }
}

/// A goal and whether it was met.
pub struct Goal {
    pub text: String,
    pub met: bool,
}

/// The goal "at least `share` of the reference", for `Table::measured`.
pub fn at_least(share: f64) -> impl FnOnce(f64) -> Option<Goal> {
    move |ratio| {
        Some(Goal {
            text: format!(">= {:.0}%", share * 100.0),
            met: ratio >= share,
        })
    }
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
    previous: Figures,
}

impl Table {
    /// A table whose "previous" column shows `previous`'s figure for each row it has.
    pub fn after(previous: Figures) -> Table {
        Table {
            rows: Vec::new(),
            previous,
        }
    }

    /// This run's figures, to save for the next run.
    pub fn figures(&self, before: String, after: String) -> Figures {
        let recorded_at_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Figures {
            recorded_at_unix,
            load_average_before: before,
            load_average_after: after,
            rows: self
                .rows
                .iter()
                .map(|r| SavedRow {
                    case: r.case.clone(),
                    rows: r.rows.clone(),
                    rate: r.rate_value,
                    figure: r.rate_value.is_none().then(|| r.ratio.clone()),
                })
                .collect(),
        }
    }

    /// Saves this run's figures at `path` (creating its directory).
    pub fn save(&self, path: &Path, before: String, after: String) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string_pretty(&self.figures(before, after))?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// The previous run's figure of a row, with the change for a rate.
    fn previous_of(&self, case: &str, rows: &str, rate: Option<f64>) -> String {
        let by_row = self.previous.by_row();
        let Some(saved) = by_row.get(&(case, rows)) else {
            return String::new();
        };
        match (saved.rate, rate) {
            (Some(old), Some(new)) if old > 0.0 => {
                format!("{} ({:+.0}%)", thousands(old), (new / old - 1.0) * 100.0)
            }
            (Some(old), _) => thousands(old),
            (None, _) => saved.figure.clone().unwrap_or_default(),
        }
    }

    /// A measured case; `against` is (reference name, reference tally) when it has one.
    pub fn measured(
        &mut self,
        case: &str,
        rows: &str,
        tally: &Tally,
        against: Option<(&str, &Tally)>,
        goal: impl FnOnce(f64) -> Option<Goal>,
    ) {
        if let Some(first) = &tally.first_error {
            eprintln!(
                "{case} ({rows}): {} failed calls, first: {first}",
                tally.errors
            );
        }
        let ratio = against.map(|(_, r)| tally.per_second() / r.per_second());
        let goal = ratio.and_then(goal);
        let rate = tally.per_second();
        self.rows.push(Row {
            case: case.to_owned(),
            rows: rows.to_owned(),
            previous: self.previous_of(case, rows, Some(rate)),
            rate_value: Some(rate),
            rate: thousands(rate),
            p50: format!("{:.2}", tally.percentile_ms(0.50)),
            p99: format!("{:.2}", tally.percentile_ms(0.99)),
            errors: tally.errors.to_string(),
            cpu: tally
                .cpu_per_call()
                .map_or(String::new(), |c| format!("{}", c.as_micros())),
            store_cpu: tally
                .store_cpu_per_call()
                .map_or(String::new(), |c| format!("{}", c.as_micros())),
            reference: against.map_or("", |(name, _)| name).to_owned(),
            ratio: ratio.map_or(String::new(), |r| format!("{:.0}%", r * 100.0)),
            target: goal.as_ref().map_or(String::new(), |g| g.text.clone()),
            met: goal.map_or(String::new(), |g| yes_no(g.met).to_owned()),
        });
    }

    /// A derived figure (a p99 comparison, memory) in the ratio column.
    pub fn figure(&mut self, case: &str, rows: &str, value: String, goal: Option<Goal>) {
        self.rows.push(Row {
            case: case.to_owned(),
            rows: rows.to_owned(),
            previous: self.previous_of(case, rows, None),
            rate_value: None,
            rate: String::new(),
            p50: String::new(),
            p99: String::new(),
            errors: String::new(),
            cpu: String::new(),
            store_cpu: String::new(),
            reference: String::new(),
            ratio: value,
            target: goal.as_ref().map_or(String::new(), |g| g.text.clone()),
            met: goal.map_or(String::new(), |g| yes_no(g.met).to_owned()),
        });
    }

    pub fn print(&self) {
        println!("| case | stored videos | req/s | p50 ms | p99 ms | errors | server CPU µs/req | store CPU µs/req | reference | ratio | target | met? | previous run |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---:|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.case,
                r.rows,
                r.rate,
                r.p50,
                r.p99,
                r.errors,
                r.cpu,
                r.store_cpu,
                r.reference,
                r.ratio,
                r.target,
                r.met,
                r.previous
            );
        }
    }
}

fn yes_no(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "**no**"
    }
}

/// 12345.6 -> "12,346".
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 1000000 -> "1M", 10000 -> "10k", 1500 -> "1500".
pub fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
