//! The one table the HTTP benchmark prints (Markdown, so a run pastes into docs/benchmarks.md).

use crate::load::Tally;

pub struct Row {
    pub case: String,
    pub rows: String,
    pub rate: String,
    pub p50: String,
    pub p99: String,
    pub errors: String,
    pub cpu: String,
    pub reference: String,
    pub ratio: String,
    pub target: String,
    pub met: String,
}

/// A goal and whether it was met.
pub struct Goal {
    pub text: String,
    pub met: bool,
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
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
        self.rows.push(Row {
            case: case.to_owned(),
            rows: rows.to_owned(),
            rate: thousands(tally.per_second()),
            p50: format!("{:.2}", tally.percentile_ms(0.50)),
            p99: format!("{:.2}", tally.percentile_ms(0.99)),
            errors: tally.errors.to_string(),
            cpu: tally
                .cpu_per_call()
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
            rate: String::new(),
            p50: String::new(),
            p99: String::new(),
            errors: String::new(),
            cpu: String::new(),
            reference: String::new(),
            ratio: value,
            target: goal.as_ref().map_or(String::new(), |g| g.text.clone()),
            met: goal.map_or(String::new(), |g| yes_no(g.met).to_owned()),
        });
    }

    pub fn print(&self) {
        println!("| case | stored videos | req/s | p50 ms | p99 ms | errors | server CPU µs/req | reference | ratio | target | met? |");
        println!("|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.case,
                r.rows,
                r.rate,
                r.p50,
                r.p99,
                r.errors,
                r.cpu,
                r.reference,
                r.ratio,
                r.target,
                r.met
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
