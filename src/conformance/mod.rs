//! Runs ksqlDB's query-validation tests (the corpus under `../shared/conformance/ksql-qtt/`,
//! one JSON case per line) against Runnel, and reports what passes.
//!
//! Each case runs on a fresh engine over a fresh embedded log: the harness creates the
//! topics, runs the statements with the case's properties, produces the inputs, waits until
//! the queries have consumed them, and compares every expected output topic record by record
//! (key, value, timestamp, window, headers) — or the expected error, or for REST cases the
//! rows of each pull and push query. `runnel conformance` is the command-line front end;
//! `tests/conformance.rs` runs the corpus against `conformance/baseline.txt`.

mod case;
mod json;
mod records;
mod report;
mod run;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use case::{Case, CaseKind};
pub use json::Json;
pub use report::{Reasons, write_report};
pub use run::{Outcome, RunOptions, run_case, skip_reason};

/// One line of the corpus: a case, or why it could not be read.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The case id (`line N` when the line has none).
    pub id: String,
    /// The upstream source file.
    pub file: String,
    /// Feature tags.
    pub features: Vec<String>,
    /// The case, or the reason it is malformed.
    pub case: Result<Arc<Case>, String>,
}

/// Reads a corpus file. Malformed lines become entries whose case is an error.
pub fn load(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_corpus(&text))
}

/// Reads corpus text, one case per non-blank line.
pub fn parse_corpus(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fallback_id = format!("line {}", n + 1);
        let entry = match Json::parse(line) {
            Err(e) => Entry {
                id: fallback_id,
                file: "?".into(),
                features: Vec::new(),
                case: Err(format!("malformed JSON: {e}")),
            },
            Ok(j) => {
                let id = j
                    .field("id")
                    .and_then(Json::as_str)
                    .map(String::from)
                    .unwrap_or(fallback_id);
                match Case::from_json(&j) {
                    Ok(c) => Entry {
                        id,
                        file: c.file.clone(),
                        features: c.features.clone(),
                        case: Ok(Arc::new(c)),
                    },
                    Err(e) => Entry {
                        id,
                        file: j.field("file").and_then(Json::as_str).unwrap_or("?").to_string(),
                        features: Vec::new(),
                        case: Err(format!("malformed case: {e}")),
                    },
                }
            }
        };
        out.push(entry);
    }
    out
}

/// Whether an entry matches a `--filter`: a comma-separated list of feature tags and id
/// prefixes, any of which may match.
pub fn matches_filter(entry: &Entry, filter: &str) -> bool {
    filter
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .any(|f| entry.features.iter().any(|t| t == f) || entry.id.starts_with(f))
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The upstream source file.
    pub file: String,
    /// Feature tags.
    pub features: Vec<String>,
    /// Pass, fail (with the first difference) or skip (with the reason).
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// Counts over a set of results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases not run.
    pub skipped: usize,
}

impl Counts {
    /// Counts `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult>) -> Counts {
        let mut c = Counts::default();
        for r in results {
            c.add(&r.outcome);
        }
        c
    }

    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Skip(_) => self.skipped += 1,
        }
    }

    /// The summary line: `N passed, M failed[, K skipped]`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        s
    }

    /// Passed out of run (not skipped), as a percentage.
    pub fn pass_rate(&self) -> f64 {
        let run = self.passed + self.failed;
        if run == 0 {
            0.0
        } else {
            100.0 * self.passed as f64 / run as f64
        }
    }
}

/// Runs `entry`'s case on its own thread, giving up after `options.case_timeout`; a panic
/// or a timeout is a failure, never the end of the run.
pub fn run_entry(entry: &Entry, options: &RunOptions) -> CaseResult {
    let start = Instant::now();
    let outcome = match &entry.case {
        Err(e) => Outcome::Fail(e.clone()),
        Ok(case) => run_guarded(case.clone(), options),
    };
    CaseResult {
        id: entry.id.clone(),
        file: entry.file.clone(),
        features: entry.features.clone(),
        outcome,
        elapsed: start.elapsed(),
    }
}

fn run_guarded(case: Arc<Case>, options: &RunOptions) -> Outcome {
    let (tx, rx) = std::sync::mpsc::channel();
    let opts = options.clone();
    let spawned = std::thread::Builder::new()
        .name("conformance-case".into())
        .spawn(move || {
            let outcome = run_case(&case, &opts);
            let _ = tx.send(outcome);
        });
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => return Outcome::Fail(format!("harness: cannot start a thread: {e}")),
    };
    match rx.recv_timeout(options.case_timeout) {
        Ok(outcome) => {
            let _ = handle.join();
            outcome
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Outcome::Fail(format!(
            "timed out after {} s (the case was abandoned)",
            options.case_timeout.as_secs()
        )),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "?".into());
                Outcome::Fail(format!("panicked: {msg}"))
            }
            Ok(()) => Outcome::Fail("harness: the case ended without an outcome".into()),
        },
    }
}

/// Runs `entries` on `jobs` workers, calling `progress` after each case (in completion
/// order); returns the results in corpus order. Panics inside cases are not printed.
pub fn run_all(
    entries: &[Entry],
    options: &RunOptions,
    jobs: usize,
    progress: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; entries.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(entry) = entries.get(i) else { break };
                    let r = run_entry(entry, options);
                    progress(&r);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    std::panic::set_hook(previous_hook);
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

/// Reads a baseline file: one case id per line, kept exactly (some ids end in a space);
/// blank lines and `#` comments ignored.
pub fn read_baseline(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// The baseline text for `results`: the ids that passed, sorted.
pub fn baseline_text(results: &[CaseResult]) -> String {
    let mut ids: Vec<&str> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .map(|r| r.id.as_str())
        .collect();
    ids.sort_unstable();
    let mut out = String::from(
        "# Conformance cases that pass (ids from ../shared/conformance/ksql-qtt/dev.jsonl).\n\
         # tests/conformance.rs fails if any of them fails. Regenerate with\n\
         # `runnel conformance ../shared/conformance/ksql-qtt/dev.jsonl --write-baseline conformance/baseline.txt`.\n",
    );
    for id in ids {
        out.push_str(id);
        out.push('\n');
    }
    out
}

/// Options of `runnel conformance`.
#[derive(Debug, Clone, Default)]
pub struct CliOptions {
    /// The corpus file.
    pub path: std::path::PathBuf,
    /// `--filter`: tags or id prefixes, comma-separated.
    pub filter: Option<String>,
    /// `--report FILE`: write the Markdown report.
    pub report: Option<std::path::PathBuf>,
    /// `--log embedded|kafka`.
    pub log: String,
    /// `--jobs N` (0: one per core).
    pub jobs: usize,
    /// `--baseline FILE`: fail only when a case listed there fails.
    pub baseline: Option<std::path::PathBuf>,
    /// `--write-baseline FILE`: write the ids that pass.
    pub write_baseline: Option<std::path::PathBuf>,
    /// `--verbose`: print every case, not only failures.
    pub verbose: bool,
    /// `--timeout SECONDS` per case.
    pub timeout: Option<u64>,
    /// `--bootstrap-servers` for `--log kafka`.
    pub bootstrap_servers: Option<String>,
    /// `--reasons FILE`: why known failures fail, shown in the report.
    pub reasons: Option<std::path::PathBuf>,
}

/// `runnel conformance`: runs the corpus, prints one line per failing or skipped case and a
/// last line `N passed, M failed, K skipped`. Returns whether the run is clean: no failure
/// (or, with `--baseline`, no failing baseline case).
pub fn cli(options: &CliOptions) -> Result<bool, String> {
    let kafka = match options.log.as_str() {
        "embedded" | "" => None,
        "kafka" => match options.bootstrap_servers.clone().filter(|s| !s.trim().is_empty()) {
            Some(servers) => Some(servers),
            None => {
                return Err(
                    "--log kafka needs --bootstrap-servers (or RUNNEL_TEST_KAFKA); scripts/kafka start prints one"
                        .into(),
                );
            }
        },
        other => return Err(format!("--log must be embedded or kafka, not '{other}'")),
    };
    let entries: Vec<Entry> = load(&options.path)?
        .into_iter()
        .filter(|e| options.filter.as_deref().is_none_or(|f| matches_filter(e, f)))
        .collect();
    let baseline = match &options.baseline {
        None => None,
        Some(p) => Some(read_baseline(
            &std::fs::read_to_string(p).map_err(|e| format!("cannot read baseline {}: {e}", p.display()))?,
        )),
    };
    let mut run_options = RunOptions {
        kafka,
        ..RunOptions::default()
    };
    if let Some(t) = options.timeout {
        run_options.case_timeout = Duration::from_secs(t.max(1));
    }
    let jobs = match options.jobs {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let started = Instant::now();
    let verbose = options.verbose;
    let print = move |r: &CaseResult| match &r.outcome {
        Outcome::Pass if verbose => println!("PASS {}", r.id),
        Outcome::Pass => {}
        Outcome::Fail(d) => println!(
            "FAIL {}: {}",
            r.id,
            d.lines().next().unwrap_or("").chars().take(300).collect::<String>()
        ),
        Outcome::Skip(why) => println!("SKIP {}: {why}", r.id),
    };
    let results = run_all(&entries, &run_options, jobs, &print);
    let elapsed = started.elapsed();
    if let Some(path) = &options.report {
        let reasons = match &options.reasons {
            Some(p) => Reasons::parse(
                &std::fs::read_to_string(p).map_err(|e| format!("cannot read reasons {}: {e}", p.display()))?,
            )?,
            None => Reasons::default(),
        };
        let text = write_report(&results, &options.path.display().to_string(), &reasons);
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("report written to {}", path.display());
    }
    if let Some(path) = &options.write_baseline {
        std::fs::write(path, baseline_text(&results)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("baseline written to {}", path.display());
    }
    let mut clean = Counts::of(&results).failed == 0;
    if let Some(baseline) = &baseline {
        let regressions: Vec<&CaseResult> = results
            .iter()
            .filter(|r| baseline.contains(&r.id) && r.outcome != Outcome::Pass)
            .collect();
        for r in &regressions {
            println!("REGRESSION {}", r.id);
        }
        let new_passes = results
            .iter()
            .filter(|r| r.outcome == Outcome::Pass && !baseline.contains(&r.id))
            .count();
        if new_passes > 0 {
            println!("{new_passes} passing cases are not in the baseline yet");
        }
        clean = regressions.is_empty();
    }
    println!("took {:.1} s on {jobs} workers", elapsed.as_secs_f64());
    println!("{}", Counts::of(&results).summary());
    Ok(clean)
}
