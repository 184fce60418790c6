//! The Markdown report: pass rates overall, per feature tag and per source file, the most
//! common causes of failure, and each failing case's first difference.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

use super::{CaseResult, Counts, Outcome};

fn row(out: &mut String, name: &str, c: &Counts) {
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {:.1}% |",
        c.passed + c.failed + c.skipped,
        c.passed,
        c.failed,
        c.skipped,
        c.pass_rate()
    );
}

const TABLE_HEAD: &str = "| cases | passed | failed | skipped | pass rate |\n";

static LITERALS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [r"'[^']*'", r"`[^`]*`", r#""[^"]*""#, r"\b\d+\b"]
        .into_iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
});

/// A failure's cause with names, literals and numbers blanked, so alike failures group.
pub fn failure_cause(diff: &str) -> String {
    let first = diff.lines().next().unwrap_or("");
    if first.contains("failed as expected, but the message differs") {
        let actual = diff
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("actual: "))
            .unwrap_or("");
        return format!("wrong error message; actual: {}", failure_cause(actual));
    }
    let first = match first.find("failed: ") {
        Some(i) if first.starts_with("statement") => &first[i + "failed: ".len()..],
        _ => first,
    };
    let mut s = first.to_string();
    for re in LITERALS.iter() {
        s = re.replace_all(&s, "_").into_owned();
    }
    s.chars().take(120).collect()
}

/// Tags of the features later issues bring (joins, windows): cases with one of them are
/// counted apart, and their failures listed by first line only.
const LATER_FEATURE_TAGS: &[&str] = &[
    "join",
    "window-",
    "windowed-",
    "emit-final",
    "pseudo:WINDOWSTART",
    "pseudo:WINDOWEND",
];

/// What the engine answers for a statement that needs joins or windows.
const LATER_FEATURE_ERRORS: &[&str] = &[
    "joins (stream-stream, stream-table, table-table, foreign-key) are not implemented",
    "windowed aggregation (TUMBLING, HOPPING, SESSION, SLIDING) is not implemented",
    "Invalid config variable(s) in the WITH clause: WINDOW_TYPE",
];

/// Whether a case exercises only features Runnel has: none of the join or window tags, and
/// (for a failure) not a failure because a statement needs one of them.
pub fn is_implemented_surface(r: &CaseResult) -> bool {
    let tagged = r
        .features
        .iter()
        .any(|t| LATER_FEATURE_TAGS.iter().any(|u| t.starts_with(u)));
    let needs_later = match &r.outcome {
        Outcome::Fail(d) => LATER_FEATURE_ERRORS.iter().any(|e| d.contains(e)),
        _ => false,
    };
    !tagged && !needs_later
}

/// Why known failures fail: `conformance/reasons.tsv`, one line per case (or per id prefix
/// ending in `*`): `id<TAB>category<TAB>reason`. `#` starts a comment line. The report shows
/// each failing case's reason; it changes no outcome.
#[derive(Debug, Default)]
pub struct Reasons {
    entries: Vec<(String, String, String)>,
}

/// What a reason's category means, in the report's words.
const CATEGORIES: &[(&str, &str)] = &[
    (
        "deliberate",
        "Runnel behaves differently on purpose (the reason says why)",
    ),
    (
        "representation",
        "a limit of Runnel's data representation (Arrow arrays)",
    ),
    (
        "wording",
        "same refusal, different text: ksqlDB's parser (ANTLR) messages, or messages that echo the statement as ksqlDB's formatter prints it",
    ),
    ("missing", "not built yet"),
];

impl Reasons {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Reasons, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, '\t');
            let (Some(id), Some(category), Some(reason)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("reasons line {}: expected id<TAB>category<TAB>reason", n + 1));
            };
            if !CATEGORIES.iter().any(|(c, _)| *c == category) {
                return Err(format!(
                    "reasons line {}: unknown category '{category}'; use one of {}",
                    n + 1,
                    CATEGORIES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                ));
            }
            entries.push((id.to_string(), category.to_string(), reason.trim().to_string()));
        }
        Ok(Reasons { entries })
    }

    /// Whether a line names case `id` itself (not through a prefix).
    pub fn names(&self, id: &str) -> bool {
        self.entries.iter().any(|(pattern, _, _)| pattern == id)
    }

    /// The category and reason recorded for case `id`.
    pub fn find(&self, id: &str) -> Option<(&str, &str)> {
        self.entries
            .iter()
            .find(|(pattern, _, _)| match pattern.strip_suffix('*') {
                Some(prefix) => id.starts_with(prefix),
                None => pattern == id,
            })
            .map(|(_, c, r)| (c.as_str(), r.as_str()))
    }
}

/// The report for `results` of a run over `corpus`, with the recorded `reasons`.
pub fn write_report(results: &[CaseResult], corpus: &str, reasons: &Reasons) -> String {
    let total = Counts::of(results);
    let mut out = String::new();
    let _ = writeln!(out, "# Conformance: ksqlDB query-validation tests\n");
    let _ = writeln!(
        out,
        "Generated by `runnel conformance {corpus} --reasons conformance/reasons.tsv --report \
         docs/conformance.md`. Each case runs \
         on a fresh engine over a fresh embedded log; see `src/conformance/` for how inputs are \
         produced and outputs compared, and the corpus README for the case format.\n"
    );
    let _ = writeln!(
        out,
        "**{}** — pass rate {:.1}% of the cases run.\n",
        total.summary(),
        total.pass_rate()
    );

    let implemented: Vec<&CaseResult> = results.iter().filter(|r| is_implemented_surface(r)).collect();
    let c = Counts::of(implemented.iter().copied());
    let _ = writeln!(
        out,
        "Cases of the features Runnel has (everything but joins and windows, which later issues \
         bring: no join or window tag, and not failing because a statement needs one): **{}** — \
         pass rate {:.1}%.\n",
        c.summary(),
        c.pass_rate()
    );

    let _ = writeln!(out, "## By feature tag\n");
    let _ = writeln!(
        out,
        "All cases, and those of the features Runnel has (\"implemented\"). A case counts under \
         every tag it has.\n"
    );
    let mut by_tag: BTreeMap<&str, (Counts, Counts)> = BTreeMap::new();
    for r in results {
        let implemented = is_implemented_surface(r);
        for t in &r.features {
            let e = by_tag.entry(t).or_default();
            e.0.add(&r.outcome);
            if implemented {
                e.1.add(&r.outcome);
            }
        }
    }
    out.push_str("| tag | cases | passed | failed | skipped | pass rate | implemented: passed | failed |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (tag, (all, implemented)) in &by_tag {
        let _ = writeln!(
            out,
            "| `{tag}` | {} | {} | {} | {} | {:.1}% | {} | {} |",
            all.passed + all.failed + all.skipped,
            all.passed,
            all.failed,
            all.skipped,
            all.pass_rate(),
            implemented.passed,
            implemented.failed
        );
    }

    let _ = writeln!(out, "\n## By source file\n");
    let mut by_file: BTreeMap<&str, Counts> = BTreeMap::new();
    for r in results {
        by_file.entry(&r.file).or_default().add(&r.outcome);
    }
    out.push_str("| file ");
    out.push_str(TABLE_HEAD);
    out.push_str("|---|---:|---:|---:|---:|---:|\n");
    for (file, c) in &by_file {
        row(&mut out, &format!("`{file}`"), c);
    }

    let _ = writeln!(out, "\n## Most common failure causes\n");
    let mut causes: BTreeMap<String, (usize, &str)> = BTreeMap::new();
    for r in results {
        if let Outcome::Fail(d) = &r.outcome {
            let e = causes.entry(failure_cause(d)).or_insert((0, &r.id));
            e.0 += 1;
        }
    }
    let mut causes: Vec<(String, (usize, &str))> = causes.into_iter().collect();
    causes.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    out.push_str("| cases | cause (literals blanked) | example |\n|---:|---|---|\n");
    for (cause, (n, example)) in causes.iter().take(60) {
        let _ = writeln!(
            out,
            "| {n} | {} | `{}` |",
            cause.replace('|', "\\|"),
            example.replace('`', "'")
        );
    }

    let _ = writeln!(out, "\n## Failing cases of the features Runnel has\n");
    let failing: Vec<&CaseResult> = results
        .iter()
        .filter(|r| is_implemented_surface(r) && matches!(r.outcome, Outcome::Fail(_)))
        .collect();
    let _ = writeln!(
        out,
        "Each with why it fails (from `conformance/reasons.tsv`) and its first difference.\n"
    );
    out.push_str("| why | cases |\n|---|---:|\n");
    for (category, meaning) in CATEGORIES {
        let n = failing
            .iter()
            .filter(|r| reasons.find(&r.id).is_some_and(|(c, _)| c == *category))
            .count();
        let _ = writeln!(out, "| {category}: {meaning} | {n} |");
    }
    let unexplained = failing.iter().filter(|r| reasons.find(&r.id).is_none()).count();
    let _ = writeln!(out, "| not analysed yet | {unexplained} |\n");
    for r in failing {
        if let Outcome::Fail(d) = &r.outcome {
            let d: String = d.chars().take(1200).collect();
            let why = match reasons.find(&r.id) {
                Some((category, reason)) => format!("**Why ({category}):** {reason}"),
                None => "**Why:** not analysed yet.".to_string(),
            };
            let _ = writeln!(
                out,
                "### `{}`\n\n{why}\n\n```\n{}\n```\n",
                r.id.replace('`', "'"),
                d.replace("```", "'''")
            );
        }
    }
    let _ = writeln!(
        out,
        "## Failing cases that need joins or windows\n\nThe first line of each difference.\n"
    );
    for r in results.iter().filter(|r| !is_implemented_surface(r)) {
        if let Outcome::Fail(d) = &r.outcome {
            let first: String = d.lines().next().unwrap_or("").chars().take(160).collect();
            let _ = writeln!(out, "- `{}`: {}", r.id.replace('`', "'"), first.replace('`', "'"));
        }
    }
    out.push('\n');

    let skipped: Vec<&CaseResult> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skip(_)))
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "## Skipped cases\n");
        for r in skipped {
            if let Outcome::Skip(why) = &r.outcome {
                let _ = writeln!(out, "- `{}`: {why}", r.id.replace('`', "'"));
            }
        }
    }
    out
}

#[cfg(test)]
mod reason_tests {
    use super::Reasons;

    #[test]
    fn reasons_match_ids_and_prefixes_and_refuse_unknown_categories() {
        let r = Reasons::parse("# comment\na/one\twording\tsays it differently\nb/*\tmissing\tnot built\n")
            .expect("parses");
        assert_eq!(r.find("a/one"), Some(("wording", "says it differently")));
        assert_eq!(r.find("b/two"), Some(("missing", "not built")));
        assert_eq!(r.find("a/two"), None);
        assert!(r.names("a/one") && !r.names("b/two"));
        let err = Reasons::parse("x\tbogus\ty").unwrap_err();
        assert!(err.contains("unknown category 'bogus'"), "{err}");
        assert!(Reasons::parse("x only").is_err());
    }
}
