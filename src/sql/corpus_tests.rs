//! The ksqlDB query-validation corpus: every statement of every case must parse, except in
//! cases whose expected error is a parse failure.

use std::path::Path;

use super::{parse, parse_one};
use crate::sql::tests::same_modulo_spans;

/// Statements the corpus expects ksqlDB to reject while parsing.
fn expects_parse_error(case: &serde_json::Value) -> bool {
    let Some(err) = case.get("expected_error").filter(|e| !e.is_null()) else {
        return false;
    };
    let kind = err.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let message = err.get("message").and_then(|t| t.as_str()).unwrap_or("");
    kind.contains("ParseFailedException") || message.contains("Syntax Error")
}

#[test]
fn corpus_statements_parse() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/ksql-qtt/dev.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("corpus {} not found; skipping", path.display());
        return;
    };
    let mut total = 0usize;
    let mut failures = Vec::new();
    let mut reprint_failures = Vec::new();
    for line in text.lines() {
        let Ok(case) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if expects_parse_error(&case) {
            continue;
        }
        let id = case.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let statements = case
            .get("statements")
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default();
        // Parse the case as one script so that CREATE TYPE is seen by later statements.
        let script: Vec<&str> = statements.iter().filter_map(|s| s.as_str()).collect();
        total += script.len();
        match parse(&script.join("\n")) {
            Ok(parsed) => {
                for p in parsed {
                    let printed = p.statement.to_string();
                    match parse_one(&printed) {
                        Ok(again)
                            if again.statement.to_string() == printed
                                && same_modulo_spans(&again.statement, &p.statement) => {}
                        Ok(again) => {
                            reprint_failures.push(format!("{id}: {printed}\n   reprinted as {}", again.statement))
                        }
                        Err(e) => reprint_failures.push(format!("{id}: {printed}\n{e}")),
                    }
                }
            }
            Err(e) => failures.push(format!("{id}:\n{e}")),
        }
    }
    for f in &failures {
        println!("FAIL {f}\n");
    }
    for f in &reprint_failures {
        println!("REPRINT {f}\n");
    }
    println!(
        "{total} statements, {} failing cases, {} reprint failures",
        failures.len(),
        reprint_failures.len()
    );
    assert!(failures.len() * 100 <= total * 2, "too many corpus failures");
    assert!(
        reprint_failures.is_empty(),
        "printed statements must read back the same"
    );
}
