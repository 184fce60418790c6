//! Rendering results: `comfy-table` grids, one JSON object per row, or CSV.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets::ASCII_FULL_CONDENSED};

use crate::engine::RowSet;
use crate::types::Value;

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned tables.
    Table,
    /// One JSON object per row, keys = column names.
    Json,
    /// CSV with a header line.
    Csv,
}

impl OutputFormat {
    /// Parses `table`, `json` or `csv`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "table" | "tabular" => Some(OutputFormat::Table),
            "json" => Some(OutputFormat::Json),
            "csv" => Some(OutputFormat::Csv),
            _ => None,
        }
    }
}

/// A cell as text.
pub(crate) fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One JSON object for a row.
pub(crate) fn json_row(columns: &[String], row: &[Value]) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        columns.iter().cloned().zip(row.iter().map(Value::to_json)).collect();
    serde_json::Value::Object(map).to_string()
}

/// A CSV line.
pub(crate) fn csv_line(cells: impl IntoIterator<Item = String>) -> String {
    cells
        .into_iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Prints a finite row set.
pub(crate) fn print_rows(
    out: &mut dyn Write,
    format: OutputFormat,
    rows: &RowSet,
    width: Option<u16>,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            for r in &rows.rows {
                writeln!(out, "{}", json_row(&rows.columns, r))?;
            }
        }
        OutputFormat::Csv => {
            writeln!(out, "{}", csv_line(rows.columns.iter().cloned()))?;
            for r in &rows.rows {
                writeln!(out, "{}", csv_line(r.iter().map(cell)))?;
            }
        }
        OutputFormat::Table => {
            if let Some(title) = &rows.title {
                writeln!(out, "\n{title}")?;
            }
            if rows.vertical {
                for r in &rows.rows {
                    for (c, v) in rows.columns.iter().zip(r) {
                        writeln!(out, "{c:<15}: {}", cell(v).replace('\n', &format!("\n{:<17}", "")))?;
                    }
                    writeln!(out)?;
                }
                return Ok(());
            }
            let mut table = Table::new();
            table
                .load_style(ASCII_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            if let Some(w) = width {
                table.set_width(w);
            }
            table.set_header(rows.columns.clone());
            for r in &rows.rows {
                table.add_row(r.iter().map(cell).collect::<Vec<_>>());
            }
            writeln!(out, "{table}")?;
        }
    }
    Ok(())
}

/// Prints the header of a streamed result (table and CSV).
pub(crate) fn print_stream_header(
    out: &mut dyn Write,
    format: OutputFormat,
    columns: &[String],
) -> std::io::Result<Vec<usize>> {
    let widths: Vec<usize> = columns.iter().map(|c| c.chars().count().max(12)).collect();
    match format {
        OutputFormat::Table => {
            let line: String = widths
                .iter()
                .map(|w| format!("+{}", "-".repeat(w + 2)))
                .collect::<String>()
                + "+";
            writeln!(out, "{line}")?;
            let header: String = columns
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("|{c:^width$}", width = w + 2))
                .collect::<String>()
                + "|";
            writeln!(out, "{header}")?;
            writeln!(out, "{line}")?;
        }
        OutputFormat::Csv => writeln!(out, "{}", csv_line(columns.iter().cloned()))?,
        OutputFormat::Json => {}
    }
    Ok(widths)
}

/// Prints streamed rows as they arrive.
pub(crate) fn print_stream_rows(
    out: &mut dyn Write,
    format: OutputFormat,
    columns: &[String],
    widths: &[usize],
    rows: &[Vec<Value>],
) -> std::io::Result<()> {
    for r in rows {
        match format {
            OutputFormat::Table => {
                let line: String = r
                    .iter()
                    .zip(widths)
                    .map(|(v, w)| format!("|{:<width$}", format!(" {}", cell(v)), width = w + 2))
                    .collect::<String>()
                    + "|";
                writeln!(out, "{line}")?;
            }
            OutputFormat::Csv => writeln!(out, "{}", csv_line(r.iter().map(cell)))?,
            OutputFormat::Json => writeln!(out, "{}", json_row(columns, r))?,
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_use_column_names() {
        let cols = vec!["A".to_string(), "B".to_string()];
        assert_eq!(
            json_row(&cols, &[Value::Int(1), Value::String("x".into())]),
            r#"{"A":1,"B":"x"}"#
        );
    }

    #[test]
    fn csv_quotes_when_needed() {
        assert_eq!(
            csv_line(vec!["a".into(), "b,c".into(), "say \"hi\"".into()]),
            "a,\"b,c\",\"say \"\"hi\"\"\""
        );
    }
}
