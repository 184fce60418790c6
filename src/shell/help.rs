//! `HELP;` and `HELP <statement>;`: every statement with a one-line syntax, and for each its
//! grammar and an example.

/// One statement's help.
pub struct StatementHelp {
    /// The words that name it (`CREATE STREAM AS`), matched against what follows HELP.
    pub name: &'static str,
    /// One line of syntax for the list.
    pub summary: &'static str,
    /// The grammar.
    pub grammar: &'static str,
    /// A statement that runs.
    pub example: &'static str,
}

/// Every statement, in the order `HELP;` lists them.
pub const STATEMENTS: &[StatementHelp] = &[
    StatementHelp {
        name: "CREATE STREAM",
        summary: "CREATE [OR REPLACE] STREAM [IF NOT EXISTS] name (col type [KEY], ...) WITH (...);",
        grammar: "CREATE [OR REPLACE] [SOURCE] STREAM [IF NOT EXISTS] name\n  ( column type [KEY | HEADERS | HEADER('key')], ... )\n  WITH ( KAFKA_TOPIC='topic', VALUE_FORMAT='JSON|DELIMITED|KAFKA|NONE' [, KEY_FORMAT=...]\n         [, PARTITIONS=n] [, REPLICAS=n] [, TIMESTAMP='col'] [, TIMESTAMP_FORMAT='pattern'] );",
        example: "CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)\n  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=4);",
    },
    StatementHelp {
        name: "CREATE TABLE",
        summary: "CREATE [OR REPLACE] [SOURCE] TABLE name (col type PRIMARY KEY, ...) WITH (...);",
        grammar: "CREATE [OR REPLACE] [SOURCE] TABLE [IF NOT EXISTS] name\n  ( column type [PRIMARY KEY], ... )\n  WITH ( KAFKA_TOPIC='topic', VALUE_FORMAT='...' [, PARTITIONS=n] ... );\nA SOURCE table is read-only and answers pull queries.",
        example: "CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR)\n  WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=4);",
    },
    StatementHelp {
        name: "CREATE STREAM AS",
        summary: "CREATE STREAM name [WITH (...)] AS SELECT ... FROM stream [WHERE ...] [PARTITION BY ...] EMIT CHANGES;",
        grammar: "CREATE [OR REPLACE] STREAM [IF NOT EXISTS] name [WITH (KAFKA_TOPIC='t', PARTITIONS=n, ...)]\n  AS SELECT select_expr [, ...] FROM stream\n  [WHERE condition] [PARTITION BY expr [, ...]] EMIT CHANGES;",
        example: "CREATE STREAM home_views AS SELECT userid, UCASE(pageid) AS page\n  FROM pageviews WHERE pageid LIKE 'ho%' EMIT CHANGES;",
    },
    StatementHelp {
        name: "CREATE TABLE AS",
        summary: "CREATE TABLE name AS SELECT ... FROM source [WHERE ...] GROUP BY ... [HAVING ...];",
        grammar: "CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name [WITH (...)]\n  AS SELECT select_expr [, ...] FROM stream_or_table\n  [WHERE condition] [GROUP BY expr [, ...] [HAVING condition]] [EMIT CHANGES];",
        example: "CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views\n  FROM pageviews GROUP BY userid;",
    },
    StatementHelp {
        name: "INSERT INTO",
        summary: "INSERT INTO stream SELECT ...;  INSERT INTO source (cols) VALUES (values);",
        grammar: "INSERT INTO stream [WITH (QUERY_ID='id')] SELECT ... FROM stream [WHERE ...] EMIT CHANGES;\nINSERT INTO stream_or_table [(column, ...)] VALUES (value, ...);",
        example: "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('u1', 'home', 1000);",
    },
    StatementHelp {
        name: "SELECT",
        summary: "SELECT ... FROM source [WHERE ...] [EMIT CHANGES] [LIMIT n];  (push with EMIT CHANGES, else pull)",
        grammar: "SELECT select_expr [, ...] FROM source [WHERE condition]\n  [GROUP BY ...] [HAVING ...] [PARTITION BY ...] EMIT CHANGES [LIMIT n];   -- push query\nSELECT select_expr [, ...] FROM table_or_stream [WHERE condition]\n  [ORDER BY key_column [ASC|DESC]] [LIMIT n] [OFFSET n];                   -- pull query\nA push query streams rows until LIMIT or Ctrl-C; a pull query answers from the table's state now.",
        example: "SELECT * FROM views_per_user WHERE userid = 'u1';",
    },
    StatementHelp {
        name: "SHOW",
        summary: "SHOW STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES|FUNCTIONS|VARIABLES|TYPES [EXTENDED];",
        grammar: "SHOW | LIST  STREAMS | TABLES | QUERIES | TOPICS | PROPERTIES | FUNCTIONS | VARIABLES | TYPES\n  [EXTENDED];",
        example: "SHOW QUERIES;",
    },
    StatementHelp {
        name: "DESCRIBE",
        summary: "DESCRIBE [EXTENDED] source;  DESCRIBE FUNCTION name;  DESCRIBE STREAMS|TABLES;",
        grammar: "DESCRIBE [EXTENDED] stream_or_table;\nDESCRIBE FUNCTION function_name;\nDESCRIBE STREAMS | TABLES [EXTENDED];",
        example: "DESCRIBE EXTENDED pageviews;",
    },
    StatementHelp {
        name: "EXPLAIN",
        summary: "EXPLAIN query_id | statement;",
        grammar: "EXPLAIN query_id;\nEXPLAIN CREATE ... AS SELECT ... | SELECT ...;\nPrints the logical plan and the Kafka Streams topology.",
        example: "EXPLAIN SELECT * FROM pageviews WHERE viewtime > 0 EMIT CHANGES;",
    },
    StatementHelp {
        name: "PRINT",
        summary: "PRINT 'topic' [FROM BEGINNING] [INTERVAL n] [LIMIT n];",
        grammar: "PRINT topic_name [FROM BEGINNING] [INTERVAL | SAMPLE n] [LIMIT n];\nShows a topic's records with their formats, keys, values and timestamps.",
        example: "PRINT 'pageviews' FROM BEGINNING LIMIT 3;",
    },
    StatementHelp {
        name: "DROP",
        summary: "DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC];  DROP TYPE name;",
        grammar: "DROP STREAM | TABLE [IF EXISTS] name [DELETE TOPIC];\nDROP TYPE [IF EXISTS] name;\nA source that queries read, or that a query writes, is dropped after those queries are terminated.",
        example: "DROP STREAM home_views DELETE TOPIC;",
    },
    StatementHelp {
        name: "TERMINATE",
        summary: "TERMINATE query_id | ALL;  PAUSE query_id | ALL;  RESUME query_id | ALL;",
        grammar: "TERMINATE query_id | ALL;\nPAUSE query_id | ALL;\nRESUME query_id | ALL;",
        example: "TERMINATE CSAS_HOME_VIEWS_3;",
    },
    StatementHelp {
        name: "SET",
        summary: "SET 'property'='value';  UNSET 'property';",
        grammar: "SET 'property' = 'value';\nUNSET 'property';\nSession properties: they apply to the statements that follow (SHOW PROPERTIES lists them).",
        example: "SET 'auto.offset.reset' = 'latest';",
    },
    StatementHelp {
        name: "DEFINE",
        summary: "DEFINE name = 'value';  UNDEFINE name;  (use as ${name})",
        grammar: "DEFINE name = 'value';\nUNDEFINE name;\n${name} in later statements is replaced by the value.",
        example: "DEFINE topic = 'pageviews';",
    },
    StatementHelp {
        name: "CREATE TYPE",
        summary: "CREATE TYPE name AS type;",
        grammar: "CREATE TYPE [IF NOT EXISTS] name AS type;",
        example: "CREATE TYPE address AS STRUCT<street VARCHAR, city VARCHAR>;",
    },
    StatementHelp {
        name: "RUN SCRIPT",
        summary: "RUN SCRIPT 'file.sql';",
        grammar: "RUN SCRIPT 'path';\nRuns the file's statements in order; a relative path is relative to the current directory.",
        example: "RUN SCRIPT 'setup.sql';",
    },
    StatementHelp {
        name: "EXIT",
        summary: "EXIT;  (or Ctrl-D)",
        grammar: "EXIT; | QUIT;\nCtrl-C cancels a running query or clears the line; Ctrl-D at an empty prompt leaves.",
        example: "EXIT;",
    },
];

/// The help `text` asks for, when it is `HELP;` or `HELP <statement>;`.
pub fn request(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches(';').trim();
    let (first, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    if !first.eq_ignore_ascii_case("HELP") {
        return None;
    }
    Some(if rest.trim().is_empty() {
        overview()
    } else {
        topic(rest)
    })
}

/// `HELP;`: every statement with its one-line syntax.
pub fn overview() -> String {
    let mut out = String::from("Statements (end each with ;). HELP <statement>; shows its grammar and an example.\n\n");
    for s in STATEMENTS {
        out.push_str(&format!("  {:<17} {}\n", s.name, s.summary));
    }
    out.push_str("\nKeys: Tab completes, Ctrl-R searches history, Ctrl-C cancels, Ctrl-D leaves.\n");
    out
}

/// `HELP <topic>;`: the statement whose name best matches the words given.
pub fn topic(words: &str) -> String {
    let asked: Vec<String> = words.split_whitespace().map(str::to_ascii_uppercase).collect();
    let asked = asked.join(" ");
    // Synonyms people type.
    let asked = match asked.as_str() {
        "CSAS" => "CREATE STREAM AS".to_string(),
        "CTAS" => "CREATE TABLE AS".to_string(),
        "LIST" => "SHOW".to_string(),
        "PAUSE" | "RESUME" => "TERMINATE".to_string(),
        "UNSET" => "SET".to_string(),
        "QUIT" => "EXIT".to_string(),
        "INSERT" | "INSERT VALUES" => "INSERT INTO".to_string(),
        "PULL" | "PUSH" | "QUERY" => "SELECT".to_string(),
        other => other.to_string(),
    };
    let exact = STATEMENTS.iter().find(|s| s.name == asked);
    // Otherwise the longest name that the words start with, or that starts with the words.
    let best = exact.or_else(|| {
        STATEMENTS
            .iter()
            .filter(|s| asked.starts_with(s.name) || s.name.starts_with(&asked))
            .max_by_key(|s| if asked.starts_with(s.name) { s.name.len() } else { 0 })
    });
    match best {
        Some(s) => format!("{}\n\n{}\n\nExample:\n{}\n", s.name, s.grammar, s.example),
        None => format!(
            "No help for '{}'. Statements: {}.\n",
            words.trim(),
            STATEMENTS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_listed_and_found_by_name() {
        let list = overview();
        for s in STATEMENTS {
            assert!(list.contains(s.summary), "{}", s.name);
            assert!(topic(s.name).starts_with(s.name), "{}", s.name);
        }
    }

    #[test]
    fn topics_match_loosely() {
        assert!(topic("select").starts_with("SELECT\n"));
        assert!(topic("create table as").starts_with("CREATE TABLE AS\n"));
        assert!(topic("CTAS").starts_with("CREATE TABLE AS\n"));
        assert!(topic("create stream").starts_with("CREATE STREAM\n"));
        assert!(topic("drop stream").starts_with("DROP\n"));
        assert!(topic("pause").starts_with("TERMINATE\n"));
        assert!(topic("frobnicate").starts_with("No help for 'frobnicate'."));
    }

    #[test]
    fn every_example_parses() {
        for s in STATEMENTS {
            if s.name == "EXIT" {
                continue;
            }
            assert!(crate::sql::parse(s.example).is_ok(), "{}: {}", s.name, s.example);
        }
    }
}
