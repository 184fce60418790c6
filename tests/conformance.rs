//! The conformance ratchet: runs ksqlDB's query-validation corpus
//! (`../shared/conformance/ksql-qtt/dev.jsonl`) and fails if a case listed in
//! `conformance/baseline.txt` no longer passes. Without the corpus (a user's machine) it says
//! so in one line and passes. `RUNNEL_CONFORMANCE_CORPUS=FILE` runs another corpus file.
//!
//! A case that newly passes belongs in the baseline, in the same commit:
//! `runnel conformance ../shared/conformance/ksql-qtt/dev.jsonl --write-baseline conformance/baseline.txt`.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use runnel::conformance::{Outcome, RunOptions, load, read_baseline, run_all};

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test("conformance_baseline", ratchet);
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn ratchet() -> Result<(), Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("RUNNEL_CONFORMANCE_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/conformance/ksql-qtt/dev.jsonl"));
    if !corpus.exists() {
        println!(
            "conformance: corpus {} not found; the conformance ratchet did not run",
            corpus.display()
        );
        return Ok(());
    }
    let baseline_path = root.join("conformance/baseline.txt");
    let baseline = read_baseline(
        &std::fs::read_to_string(&baseline_path)
            .map_err(|e| format!("cannot read {}: {e}", baseline_path.display()))?,
    );
    let entries = load(&corpus)?;
    let options = RunOptions::default();
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = std::time::Instant::now();
    let results = run_all(&entries, &options, jobs, &|_| {});
    let counts = runnel::conformance::Counts::of(&results);

    let mut problems = Vec::new();
    for id in &baseline {
        if !entries.iter().any(|e| &e.id == id) {
            problems.push(format!("{id}: listed in the baseline but not in the corpus"));
        }
    }
    for (entry, result) in entries.iter().zip(&results) {
        if !baseline.contains(&result.id) || result.outcome == Outcome::Pass {
            continue;
        }
        // Once more on its own, so a case slowed down by a busy machine is not a regression.
        let again = run_all(std::slice::from_ref(entry), &options, 1, &|_| {});
        match again.first().map(|r| &r.outcome) {
            Some(Outcome::Pass) => {}
            Some(Outcome::Fail(d)) => problems.push(format!("{}: {d}", result.id)),
            Some(Outcome::Skip(why)) => problems.push(format!("{}: skipped: {why}", result.id)),
            None => problems.push(format!("{}: did not run", result.id)),
        }
    }
    // Reasons are for failures: a case that passes loses its line.
    let reasons_path = root.join("conformance/reasons.tsv");
    let reasons = runnel::conformance::Reasons::parse(
        &std::fs::read_to_string(&reasons_path).map_err(|e| format!("cannot read {}: {e}", reasons_path.display()))?,
    )?;
    for r in results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass && reasons.names(&r.id))
    {
        problems.push(format!(
            "{}: passes, but conformance/reasons.tsv still says why it fails; remove its line",
            r.id
        ));
    }
    let new_passes = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass && !baseline.contains(&r.id))
        .count();
    println!(
        "conformance: {} in {:.0} s; {} baseline cases",
        counts.summary(),
        started.elapsed().as_secs_f64(),
        baseline.len()
    );
    if new_passes > 0 {
        println!(
            "conformance: {new_passes} passing cases are not in conformance/baseline.txt yet; add them (see tests/conformance.rs)"
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} baseline cases fail:\n{}", problems.len(), problems.join("\n\n")).into())
    }
}
