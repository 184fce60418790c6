//! Unit tests for the statement parser: one per statement form, expression shapes, printing
//! back, and errors with their positions.

use sqlparser::ast::{
    BinaryOperator, DataType, Expr, FunctionArg, FunctionArgOperator, FunctionArguments, InTarget, OneOrManyWithParens,
    Value as SqlValue,
};

use super::ast::*;
use super::{ExprSql, TypeRegistry, from_data_type, parse, parse_expr, parse_one, parse_with_types};
use crate::types::{SqlType, Value};

/// Whether two statements are equal once positions and `Ident::quoted` are ignored (the
/// printer quotes only where needed, so a needlessly quoted name reads back unquoted).
pub(crate) fn same_modulo_spans(a: &Statement, b: &Statement) -> bool {
    normalize(&format!("{a:?}")) == normalize(&format!("{b:?}"))
}

/// Positions (ours and sqlparser's) and the `quoted` flag, blanked out of a `Debug` dump.
static UNCOMPARED: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"Location \{ line: \d+, column: \d+ \}|Location\(\d+,\d+\)|quoted: (true|false)").ok()
});

/// Unquoted sqlparser identifiers, whose case the canonical printer changes to upper case.
/// (A quoted name that is already upper case prints unquoted, and means the same.)
static UNQUOTED_IDENT: std::sync::LazyLock<Option<regex::Regex>> =
    std::sync::LazyLock::new(|| regex::Regex::new(r#"value: "([^"]*)", quote_style: (None|Some\('[`"]'\))"#).ok());

fn normalize(debug: &str) -> String {
    let blanked = match UNCOMPARED.as_ref() {
        Some(re) => re.replace_all(debug, "_").into_owned(),
        None => debug.to_string(),
    };
    match UNQUOTED_IDENT.as_ref() {
        Some(re) => re
            .replace_all(&blanked, |c: &regex::Captures<'_>| {
                let unquoted = &c[2] == "None";
                if unquoted || c[1] == c[1].to_uppercase() {
                    format!("value: {:?}, quote_style: None", c[1].to_uppercase())
                } else {
                    c[0].to_string()
                }
            })
            .into_owned(),
        None => blanked,
    }
}

fn stmt(sql: &str) -> Statement {
    match parse_one(sql) {
        Ok(p) => p.statement,
        Err(e) => panic!("{sql}\n{e}"),
    }
}

fn query(sql: &str) -> Query {
    match stmt(sql) {
        Statement::Query(q) => *q,
        other => panic!("not a query: {other:?}"),
    }
}

fn err(sql: &str) -> super::ParseError {
    match parse(sql) {
        Ok(s) => panic!("{sql} parsed as {s:?}"),
        Err(e) => e,
    }
}

fn expr(sql: &str) -> Expr {
    match parse_expr(sql) {
        Ok(e) => e,
        Err(e) => panic!("{sql}\n{e}"),
    }
}

/// Prints the statement, parses the output, and checks both agree.
fn round_trip(sql: &str) -> String {
    let first = stmt(sql);
    let printed = first.to_string();
    let second = stmt(&printed);
    assert!(
        same_modulo_spans(&first, &second),
        "{sql}\nprinted as {printed}\nread back as {second:?}"
    );
    assert_eq!(second.to_string(), printed);
    printed
}

fn ident(s: &str) -> Expr {
    Expr::Identifier(sqlparser::ast::Ident::new(s))
}

#[test]
fn create_stream_with_columns_and_properties() {
    let Statement::CreateSource(c) = stmt(
        "create stream if not exists pageviews (id BIGINT KEY, `Name` varchar, h BYTES HEADER('trace'), hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS) \
         with (kafka_topic='pv', value_format='JSON', partitions=4, wrap_single_value=false, 'timestamp'='ts')",
    ) else {
        panic!("not a CREATE")
    };
    assert_eq!(c.kind, SourceKind::Stream);
    assert!(c.if_not_exists && !c.or_replace && !c.is_source);
    assert_eq!(c.name.value, "PAGEVIEWS");
    assert!(!c.name.quoted);
    let names: Vec<_> = c.columns.iter().map(|c| c.name.value.as_str()).collect();
    assert_eq!(names, ["ID", "Name", "H", "HS"]);
    assert!(c.columns[1].name.quoted);
    assert_eq!(c.columns[0].constraint, ColumnConstraint::Key);
    assert_eq!(c.columns[1].data_type, SqlType::String);
    assert_eq!(c.columns[2].constraint, ColumnConstraint::Header("trace".into()));
    assert_eq!(c.columns[3].constraint, ColumnConstraint::Headers);
    assert_eq!(
        c.columns[3].data_type,
        SqlType::Array(Box::new(SqlType::Struct(vec![
            ("KEY".into(), SqlType::String),
            ("VALUE".into(), SqlType::Bytes)
        ])))
    );
    let get = |n: &str| c.properties.get(n).map(|p| p.value.clone());
    assert_eq!(get("KAFKA_TOPIC"), Some(Value::String("pv".into())));
    assert_eq!(get("PARTITIONS"), Some(Value::Int(4)));
    assert_eq!(get("WRAP_SINGLE_VALUE"), Some(Value::Boolean(false)));
    assert_eq!(get("TIMESTAMP"), Some(Value::String("ts".into())));
}

#[test]
fn create_or_replace_source_table() {
    let Statement::CreateSource(c) = stmt(
        "CREATE OR REPLACE SOURCE TABLE t (k INT PRIMARY KEY, v DECIMAL(4, 2)) WITH (kafka_topic='t', format='json')",
    ) else {
        panic!("not a CREATE")
    };
    assert!(c.or_replace && c.is_source);
    assert_eq!(c.kind, SourceKind::Table);
    assert_eq!(c.columns[0].constraint, ColumnConstraint::PrimaryKey);
    assert_eq!(c.columns[1].data_type, SqlType::Decimal { precision: 4, scale: 2 });
}

#[test]
fn key_constraints_must_match_the_source_kind() {
    let e = err("CREATE STREAM s (id INT PRIMARY KEY) WITH (kafka_topic='s');");
    assert_eq!((e.line, e.column), (1, 25));
    assert!(e.message.contains("please use 'KEY' for streams"), "{e}");
    let e = err("CREATE TABLE t (id INT KEY) WITH (kafka_topic='t');");
    assert!(e.message.contains("please use 'PRIMARY KEY' for tables"), "{e}");
}

#[test]
fn nested_generic_types_close_with_shift_tokens() {
    let Statement::CreateSource(c) = stmt(
        "CREATE STREAM s (m MAP<STRING, ARRAY<INT>>, e STRUCT<>, a ARRAY<STRUCT<>>, n STRUCT<x MAP<STRING, STRUCT<y ARRAY<BIGINT>>>>) WITH (kafka_topic='s')",
    ) else {
        panic!("not a CREATE")
    };
    let types: Vec<_> = c.columns.iter().map(|c| c.data_type.clone()).collect();
    assert_eq!(
        types[0],
        SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Array(Box::new(SqlType::Int)))
        )
    );
    assert_eq!(types[1], SqlType::Struct(vec![]));
    assert_eq!(types[2], SqlType::Array(Box::new(SqlType::Struct(vec![]))));
    assert_eq!(
        types[3].to_string(),
        "STRUCT<`X` MAP<STRING, STRUCT<`Y` ARRAY<BIGINT>>>>"
    );
    let e = err("CREATE STREAM s (a ARRAY<INT>>) WITH (kafka_topic='s');");
    assert!(e.message.starts_with("unexpected '>>'"), "{e}");
}

#[test]
fn custom_types_resolve_from_the_script_and_the_registry() {
    let parsed = parse(
        "CREATE TYPE ADDRESS AS STRUCT<number INTEGER, city VARCHAR>;\n\
         CREATE STREAM s (a address) WITH (kafka_topic='s');",
    )
    .unwrap_or_default();
    let Some(Statement::CreateSource(c)) = parsed.get(1).map(|p| p.statement.clone()) else {
        panic!("expected two statements, got {parsed:?}")
    };
    assert_eq!(
        c.columns[0].data_type,
        SqlType::Struct(vec![("NUMBER".into(), SqlType::Int), ("CITY".into(), SqlType::String)])
    );
    let registry = TypeRegistry::from([("MONEY".to_string(), SqlType::Double)]);
    let parsed = parse_with_types("SELECT CAST(x AS money) FROM s;", &registry).unwrap_or_default();
    assert_eq!(parsed.len(), 1);
    let e = err("CREATE STREAM s (a money) WITH (kafka_topic='s');");
    assert_eq!((e.line, e.column), (1, 20));
    assert!(e.message.starts_with("unknown type 'MONEY'; expected a type"), "{e}");
}

#[test]
fn create_as_select_with_properties_window_and_group_by() {
    let Statement::CreateAsSelect(c) = stmt(
        "CREATE TABLE counts WITH (kafka_topic='counts', key_format='KAFKA') AS \
         SELECT id, COUNT(*) AS n FROM pageviews pv WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 10 SECONDS) \
         WHERE pv.id > 0 GROUP BY id HAVING COUNT(*) > 1 EMIT CHANGES",
    ) else {
        panic!("not a CTAS")
    };
    assert_eq!(c.kind, SourceKind::Table);
    assert_eq!(c.name.value, "COUNTS");
    assert_eq!(c.properties.0.len(), 2);
    let q = c.query;
    assert_eq!(
        q.window,
        Some(WindowSpec::Tumbling {
            size_ms: 60_000,
            retention_ms: Some(172_800_000),
            grace_ms: Some(10_000)
        })
    );
    assert_eq!(
        q.from,
        Relation::Source {
            name: Ident {
                value: "PAGEVIEWS".into(),
                quoted: false,
                span: Span {
                    start: Location { line: 1, column: 102 },
                    end: Location { line: 1, column: 111 }
                }
            },
            alias: Some(Ident {
                value: "PV".into(),
                quoted: false,
                span: Span {
                    start: Location { line: 1, column: 112 },
                    end: Location { line: 1, column: 114 }
                }
            }),
        }
    );
    assert_eq!(q.group_by, vec![ident("id")]);
    assert!(q.having.is_some() && q.selection.is_some());
    assert_eq!(q.emit, Some(Emit::Changes));
    let SelectItem::Expr { alias, .. } = &q.select[1] else {
        panic!("not an expression item")
    };
    assert_eq!(alias.as_ref().map(|a| a.value.as_str()), Some("N"));
}

#[test]
fn windows_of_every_kind() {
    let w = |sql: &str| query(&format!("SELECT * FROM s WINDOW {sql} GROUP BY k EMIT CHANGES")).window;
    assert_eq!(
        w("HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS)"),
        Some(WindowSpec::Hopping {
            size_ms: 30_000,
            advance_ms: 10_000,
            retention_ms: None,
            grace_ms: None
        })
    );
    assert_eq!(
        w("SESSION (5 MINUTES, GRACE PERIOD 0 MILLISECONDS)"),
        Some(WindowSpec::Session {
            gap_ms: 300_000,
            retention_ms: None,
            grace_ms: Some(0)
        })
    );
    assert_eq!(
        w("SLIDING (SIZE 1 HOUR)"),
        Some(WindowSpec::Sliding {
            size_ms: 3_600_000,
            retention_ms: None,
            grace_ms: None
        })
    );
    assert_eq!(
        w("myname TUMBLING (SIZE 1 DAY)"),
        Some(WindowSpec::Tumbling {
            size_ms: 86_400_000,
            retention_ms: None,
            grace_ms: None
        })
    );
    let e = err("SELECT * FROM s WINDOW TUMBLING (SIZE 1 FORTNIGHT) GROUP BY k;");
    assert_eq!((e.line, e.column), (1, 41));
    assert!(e.message.starts_with("unexpected 'FORTNIGHT'; expected a time unit"));
}

#[test]
fn joins_chain_with_within_and_grace() {
    let q = query(
        "SELECT * FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id \
         LEFT OUTER JOIN c AS cc WITHIN (1 SECOND, 2 MINUTES) GRACE PERIOD 3 SECONDS ON a.id = cc.id \
         FULL JOIN d ON d.id = a.id EMIT CHANGES",
    );
    let Relation::Join {
        left,
        right,
        kind,
        within,
        ..
    } = &q.from
    else {
        panic!("not a join")
    };
    assert_eq!(*kind, JoinKind::Full);
    assert!(within.is_none());
    assert!(matches!(&**right, Relation::Source { name, .. } if name.value == "D"));
    let Relation::Join {
        left,
        kind,
        within,
        right,
        ..
    } = &**left
    else {
        panic!("not a join")
    };
    assert_eq!(*kind, JoinKind::Left);
    assert_eq!(
        *within,
        Some(WithinSpec {
            before_ms: 1_000,
            after_ms: 120_000,
            grace_ms: Some(3_000)
        })
    );
    assert!(matches!(&**right, Relation::Source { alias: Some(a), .. } if a.value == "CC"));
    let Relation::Join { kind, within, .. } = &**left else {
        panic!("not a join")
    };
    assert_eq!(*kind, JoinKind::Inner);
    assert_eq!(
        *within,
        Some(WithinSpec {
            before_ms: 3_600_000,
            after_ms: 3_600_000,
            grace_ms: None
        })
    );
}

#[test]
fn select_items_clauses_and_pull_queries() {
    let q = query("SELECT *, s.*, v->f->*, a + 1 total FROM s PARTITION BY (a, b) LIMIT 5");
    assert_eq!(q.select[0], SelectItem::Wildcard);
    assert!(matches!(&q.select[1], SelectItem::QualifiedWildcard(i) if i.value == "S"));
    assert!(matches!(&q.select[2], SelectItem::StructAll(Expr::BinaryOp { .. })));
    assert!(matches!(&q.select[3], SelectItem::Expr { alias: Some(a), .. } if a.value == "TOTAL"));
    assert_eq!(q.partition_by, vec![ident("a"), ident("b")]);
    assert_eq!((q.emit, q.limit), (None, Some(5)));
    let q = query("SELECT * FROM t WHERE k = 1 ORDER BY v DESC, w LIMIT 10 OFFSET 20");
    assert_eq!(q.order_by.len(), 2);
    assert!(q.order_by[0].descending && !q.order_by[1].descending);
    assert_eq!(q.offset, Some(20));
    let q = query("SELECT * FROM t GROUP BY a, b EMIT FINAL");
    assert_eq!(q.group_by.len(), 2);
    assert_eq!(q.emit, Some(Emit::Final));
    let e = err("SELECT * FROM t GROUP BY f3, (f2, f1);");
    assert_eq!((e.line, e.column), (1, 30));
    let e = err("SELECT * FROM t PARTITION BY a AND b;");
    assert!(e.message.starts_with("unexpected 'AND'"), "{e}");
}

#[test]
fn insert_forms() {
    let Statement::InsertInto { target, properties, .. } =
        stmt("INSERT INTO out WITH (query_id='q1') SELECT * FROM s EMIT CHANGES")
    else {
        panic!("not INSERT INTO")
    };
    assert_eq!(target.value, "OUT");
    assert_eq!(
        properties.get("QUERY_ID").map(|p| &p.value),
        Some(&Value::String("q1".into()))
    );
    assert!(matches!(
        stmt("INSERT INTO out SELECT * FROM s"),
        Statement::InsertInto { .. }
    ));
    let Statement::InsertValues { columns, values, .. } = stmt("INSERT INTO t (k, `v`) VALUES ('a''b', 1.50)") else {
        panic!("not INSERT VALUES")
    };
    let cols: Vec<_> = columns.unwrap_or_default().into_iter().map(|c| c.value).collect();
    assert_eq!(cols, ["K", "v"]);
    assert_eq!(
        values,
        vec![
            Expr::value(SqlValue::SingleQuotedString("a'b".into())),
            Expr::value(SqlValue::Number("1.50".into(), false)),
        ]
    );
    assert!(matches!(
        stmt("INSERT INTO t VALUES (1, 2)"),
        Statement::InsertValues { columns: None, .. }
    ));
}

#[test]
fn administrative_statements() {
    let cases: Vec<(&str, Statement)> = vec![
        (
            "TERMINATE CSAS_OUT_1",
            Statement::Terminate(TerminateTarget::Query("CSAS_OUT_1".into())),
        ),
        ("terminate all", Statement::Terminate(TerminateTarget::All)),
        ("PAUSE q1", Statement::Pause(TerminateTarget::Query("q1".into()))),
        ("RESUME ALL", Statement::Resume(TerminateTarget::All)),
        (
            "SHOW STREAMS EXTENDED",
            Statement::Show {
                what: ShowKind::Streams,
                extended: true,
            },
        ),
        (
            "LIST ALL TOPICS",
            Statement::Show {
                what: ShowKind::Topics { all: true },
                extended: false,
            },
        ),
        (
            "SHOW TOPICS",
            Statement::Show {
                what: ShowKind::Topics { all: false },
                extended: false,
            },
        ),
        (
            "show queries",
            Statement::Show {
                what: ShowKind::Queries,
                extended: false,
            },
        ),
        (
            "SHOW PROPERTIES",
            Statement::Show {
                what: ShowKind::Properties,
                extended: false,
            },
        ),
        (
            "SHOW FUNCTIONS",
            Statement::Show {
                what: ShowKind::Functions,
                extended: false,
            },
        ),
        (
            "SHOW VARIABLES",
            Statement::Show {
                what: ShowKind::Variables,
                extended: false,
            },
        ),
        (
            "LIST TYPES",
            Statement::Show {
                what: ShowKind::Types,
                extended: false,
            },
        ),
        (
            "SHOW TABLES",
            Statement::Show {
                what: ShowKind::Tables,
                extended: false,
            },
        ),
        (
            "DESCRIBE STREAMS EXTENDED",
            Statement::Describe {
                target: DescribeTarget::Streams,
                extended: true,
            },
        ),
        (
            "DESCRIBE TABLES",
            Statement::Describe {
                target: DescribeTarget::Tables,
                extended: false,
            },
        ),
        (
            "SET 'auto.offset.reset'='earliest'",
            Statement::Set {
                name: "auto.offset.reset".into(),
                value: "earliest".into(),
            },
        ),
        (
            "UNSET 'auto.offset.reset'",
            Statement::Unset {
                name: "auto.offset.reset".into(),
            },
        ),
        (
            "ALTER SYSTEM 'ksql.x'='1'",
            Statement::AlterSystem {
                name: "ksql.x".into(),
                value: "1".into(),
            },
        ),
        (
            "RUN SCRIPT '/tmp/a.sql'",
            Statement::RunScript {
                path: "/tmp/a.sql".into(),
            },
        ),
        (
            "DEFINE topicName = 'it''s'",
            Statement::Define {
                name: "topicName".into(),
                value: "it's".into(),
            },
        ),
        (
            "UNDEFINE topicName",
            Statement::Undefine {
                name: "topicName".into(),
            },
        ),
        (
            "EXPLAIN CTAS_X_3",
            Statement::Explain(ExplainTarget::QueryId("CTAS_X_3".into())),
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(stmt(sql), expected, "{sql}");
        round_trip(sql);
    }
}

#[test]
fn describe_print_drop_alter_and_explain() {
    assert!(matches!(
        stmt("DESCRIBE EXTENDED pageviews"),
        Statement::Describe { target: DescribeTarget::Source(i), extended: true } if i.value == "PAGEVIEWS"
    ));
    assert!(matches!(
        stmt("DESCRIBE pageviews EXTENDED"),
        Statement::Describe { extended: true, .. }
    ));
    assert!(matches!(
        stmt("DESCRIBE FUNCTION substring"),
        Statement::Describe { target: DescribeTarget::Function(i), .. } if i.value == "SUBSTRING"
    ));
    let Statement::Print {
        topic,
        from_beginning,
        interval,
        limit,
    } = stmt("PRINT 'My-Topic' FROM BEGINNING INTERVAL 2 LIMIT 10")
    else {
        panic!("not PRINT")
    };
    assert_eq!((topic.value.as_str(), topic.quoted), ("My-Topic", true));
    assert_eq!((from_beginning, interval, limit), (true, Some(2), Some(10)));
    assert!(matches!(
        stmt("PRINT t SAMPLE 3"),
        Statement::Print { interval: Some(3), .. }
    ));
    assert!(matches!(
        stmt("DROP TABLE IF EXISTS t DELETE TOPIC"),
        Statement::Drop {
            kind: SourceKind::Table,
            if_exists: true,
            delete_topic: true,
            ..
        }
    ));
    assert!(matches!(
        stmt("DROP TYPE IF EXISTS address"),
        Statement::DropType { if_exists: true, name } if name.value == "ADDRESS"
    ));
    let Statement::AlterSource { kind, add_columns, .. } = stmt("ALTER STREAM s ADD COLUMN c INT, ADD d ARRAY<STRING>")
    else {
        panic!("not ALTER")
    };
    assert_eq!(kind, SourceKind::Stream);
    assert_eq!(add_columns.len(), 2);
    assert_eq!(add_columns[1].data_type, SqlType::Array(Box::new(SqlType::String)));
    let Statement::Explain(ExplainTarget::Statement(inner)) = stmt("EXPLAIN SELECT * FROM s EMIT CHANGES") else {
        panic!("not EXPLAIN statement")
    };
    assert!(matches!(*inner, Statement::Query(_)));
}

#[test]
fn expression_shapes() {
    // a->b->c: nested Arrow with identifiers on the right.
    let Expr::BinaryOp { left, op, right } = expr("a->b->c") else {
        panic!("not a dereference")
    };
    assert_eq!(op, BinaryOperator::Arrow);
    assert_eq!(*right, ident("c"));
    assert!(matches!(
        *left,
        Expr::BinaryOp {
            op: BinaryOperator::Arrow,
            ..
        }
    ));
    assert!(matches!(expr("a[1]"), Expr::CompoundFieldAccess { .. }));
    assert!(
        matches!(expr("a->b['k']"), Expr::CompoundFieldAccess { root, .. } if matches!(*root, Expr::BinaryOp { .. }))
    );
    assert!(matches!(expr("ARRAY[1, 2]"), Expr::Array(a) if a.named && a.elem.len() == 2));
    assert!(matches!(expr("x BETWEEN 1 AND 2"), Expr::Between { .. }));
    assert!(
        matches!(expr("x NOT IN (1, 2)"), Expr::In { negated: true, target: InTarget::List(l), .. } if l.len() == 2)
    );
    assert!(matches!(expr("x IS NOT NULL"), Expr::IsNotNull(_)));
    assert!(matches!(expr("x IS NOT DISTINCT FROM y"), Expr::IsNotDistinctFrom(..)));
    assert!(matches!(
        expr("x LIKE 'a!%' ESCAPE '!'"),
        Expr::Like {
            escape_char: Some(_),
            ..
        }
    ));
    assert!(matches!(expr("CASE WHEN a THEN 1 ELSE 2 END"), Expr::Case { .. }));
    assert_eq!(expr("1.50"), Expr::value(SqlValue::Number("1.50".into(), false)));
    assert_eq!(
        expr("\"Quoted\""),
        Expr::Identifier(sqlparser::ast::Ident::with_quote('"', "Quoted"))
    );
    // Functions sqlparser special-cases stay plain calls.
    assert!(matches!(expr("SUBSTRING(s, 1, 2)"), Expr::Function(f) if f.name.to_string() == "SUBSTRING"));
    assert!(matches!(expr("TRIM(s)"), Expr::Function(_)));
}

#[test]
fn lambdas_use_fat_arrows() {
    let Expr::Function(f) = expr("TRANSFORM(arr, x => x + 1)") else {
        panic!("not a function")
    };
    let FunctionArguments::List(args) = f.args else {
        panic!("no arguments")
    };
    let FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(Expr::Lambda(l))) = &args.args[1] else {
        panic!("not a lambda: {:?}", args.args[1])
    };
    assert!(matches!(&l.params, OneOrManyWithParens::One(p) if p.name.value == "x"));
    let e = expr("REDUCE(M, 0, (S, K, V) => S + V)");
    assert_eq!(ExprSql(&e).to_string(), "REDUCE(M, 0, (S, K, V) => S + V)");
}

#[test]
fn constructors_and_casts() {
    let Expr::Function(f) = expr("MAP('a' := 1, 'b' := 2)") else {
        panic!("not MAP")
    };
    let FunctionArguments::List(args) = f.args else {
        panic!("no arguments")
    };
    assert!(matches!(
        &args.args[0],
        FunctionArg::ExprNamed {
            operator: FunctionArgOperator::Assignment,
            ..
        }
    ));
    let Expr::Function(f) = expr("STRUCT(name := 'x', age := 3)") else {
        panic!("not STRUCT")
    };
    assert_eq!(f.name.to_string(), "STRUCT");
    let Expr::Cast { data_type, .. } = expr("CAST(x AS MAP<STRING, ARRAY<DECIMAL(5, 2)>>)") else {
        panic!("not CAST")
    };
    assert!(matches!(data_type, DataType::Map(..)));
    assert_eq!(
        from_data_type(&data_type),
        Some(SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Array(Box::new(SqlType::Decimal { precision: 5, scale: 2 })))
        ))
    );
    assert_eq!(
        ExprSql(&expr("CAST(x AS STRUCT<a INT>)")).to_string(),
        "CAST(X AS STRUCT<`A` INTEGER>)"
    );
}

#[test]
fn statements_print_back_the_same() {
    let printed = round_trip(
        "create stream s (id int key, `v a` map<string, struct<`x` int>>, h bytes header('k')) with (kafka_topic='t''s', partitions=2, x=1.5, y=-3, z=true)",
    );
    assert_eq!(
        printed,
        "CREATE STREAM S (ID INTEGER KEY, `v a` MAP<STRING, STRUCT<`x` INTEGER>>, H BYTES HEADER('k')) WITH (KAFKA_TOPIC='t''s', PARTITIONS=2, X=1.5, Y=-3, Z=true)"
    );
    let printed = round_trip(
        "create table t with (format='json') as select a.id, count(*) as c, transform(xs, x => x * 2) from a left join b within (1 hour, 2 days) grace period 1 minute on a.id = b.id \
         window hopping (size 10 seconds, advance by 5 seconds, retention 1000 milliseconds) where a.v->f[1] is not null group by a.id having count(*) > 1 emit changes",
    );
    assert_eq!(
        printed,
        "CREATE TABLE T WITH (FORMAT='json') AS SELECT A.ID, COUNT(*) AS C, TRANSFORM(XS, X => X * 2) FROM A LEFT OUTER JOIN B WITHIN (1 HOURS, 2 DAYS) GRACE PERIOD 1 MINUTES ON A.ID = B.ID \
         WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS, RETENTION 1 SECONDS) WHERE A.V->F[1] IS NOT NULL GROUP BY A.ID HAVING COUNT(*) > 1 EMIT CHANGES"
    );
    for sql in [
        "INSERT INTO t (a, b) VALUES (MAP('k' := ARRAY[1]), STRUCT(f := CAST(1 AS BIGINT)))",
        "SELECT CASE x WHEN 1 THEN 'a' END, x NOT LIKE 'a%' ESCAPE '!', y NOT BETWEEN 1 AND 2, -z FROM s WINDOW SESSION (30 SECONDS) GROUP BY (x) EMIT FINAL",
        "SELECT * FROM t WHERE k IN ('a', 'b') AND NOT v IS DISTINCT FROM 2 ORDER BY v DESC LIMIT 3 OFFSET 1",
        "CREATE TYPE IF NOT EXISTS `addr` AS STRUCT<`number` INT, `from` STRING>",
        "PRINT 'Topic' FROM BEGINNING INTERVAL 2 LIMIT 3",
        "EXPLAIN INSERT INTO x SELECT v->* FROM s",
        "ALTER TABLE t ADD COLUMN `select` STRING",
        "DESCRIBE FUNCTION `explode` EXTENDED",
        "DROP STREAM IF EXISTS s DELETE TOPIC",
    ] {
        round_trip(sql);
    }
}

#[test]
fn multiple_statements_with_comments_keep_text_and_spans() {
    let parsed = parse("-- first\nSHOW STREAMS;\n/* second */ DESCRIBE s ;  SELECT 1 FROM x").unwrap_or_default();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[0].text, "SHOW STREAMS");
    assert_eq!(parsed[1].text, "DESCRIBE s");
    assert_eq!(parsed[1].span.start, Location { line: 3, column: 14 });
    assert_eq!(parsed[2].text, "SELECT 1 FROM x");
    assert_eq!(parse("  -- nothing\n").map(|p| p.len()), Ok(0));
}

#[test]
fn errors_name_position_found_and_expected() {
    let e = err("CREATE STRAEM s (a INT) WITH (kafka_topic='s');");
    assert_eq!((e.line, e.column), (1, 8));
    assert_eq!(
        e.message,
        "unexpected 'STRAEM'; expected STREAM, TABLE, TYPE, OR REPLACE or SOURCE"
    );
    assert_eq!(
        e.to_string(),
        "parse error at 1:8: unexpected 'STRAEM'; expected STREAM, TABLE, TYPE, OR REPLACE or SOURCE\n\
         CREATE STRAEM s (a INT) WITH (kafka_topic='s');\n       ^"
    );
    let e = err("SELECT a,\n  FROM s;");
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.message.starts_with("unexpected 'FROM'; expected"), "{e}");
    let e = err("SELECT * FROM s WHERE x = 'abc;");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("expected"), "{e}");
    let e = err("SELECT * FROM s EMIT SOMETIMES;");
    assert_eq!(e.message, "unexpected 'SOMETIMES'; expected CHANGES or FINAL");
    let e = err("FROB x;");
    assert!(e.message.starts_with("unexpected 'FROB'; expected a statement"), "{e}");
    let e = err("SHOW STREAMS SHOW TABLES");
    assert_eq!((e.line, e.column), (1, 14));
    assert_eq!(e.message, "unexpected 'SHOW'; expected ';'");
    let e = match parse_one("SHOW STREAMS; SHOW TABLES;") {
        Err(e) => e,
        Ok(s) => panic!("parsed {s:?}"),
    };
    assert_eq!((e.line, e.column), (1, 15));
    assert!(parse_one("").is_err());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("SELECT {}1{} FROM s;", "(".repeat(5000), ")".repeat(5000));
    let e = err(&deep);
    assert!(e.message.contains("nests too deeply"), "{e}");
    let deep_type = format!(
        "CREATE STREAM s (a {}INT{}) WITH (kafka_topic='s');",
        "ARRAY<".repeat(500),
        ">".repeat(500)
    );
    let e = err(&deep_type);
    assert!(e.message.contains("nests too deeply"), "{e}");
    let explain = format!("{}SHOW STREAMS", "EXPLAIN ".repeat(50));
    assert!(parse(&explain).is_err());
}

#[test]
fn properties_accept_numbers_of_every_kind() {
    let Statement::CreateSource(c) =
        stmt("CREATE STREAM s (a INT) WITH (A=1, B=5000000000, C=2.50, D=1e3, E=-1.5, F=null)")
    else {
        panic!("not CREATE")
    };
    let values: Vec<_> = c.properties.0.iter().map(|p| p.value.clone()).collect();
    assert_eq!(
        values,
        vec![
            Value::Int(1),
            Value::BigInt(5_000_000_000),
            Value::Decimal(250, 2),
            Value::Double(1000.0),
            Value::Decimal(-15, 1),
            Value::Null
        ]
    );
    round_trip("CREATE STREAM s (a INT) WITH (A=1, B=5000000000, C=2.50, D=1e3, E=-1.5, F=null)");
}

#[test]
fn keywords_stay_usable_as_names() {
    for sql in [
        "SELECT s->KEY, s->`Value`, a.b->c, a.b[1], value, timestamp, date, time, size, interval, current_timestamp FROM s",
        "SELECT x % 2, 'a' || 'b', NOT x, (a), -1, 1R FROM s WHERE x = -1 AND y <> 2 OR z >= 3",
        "SELECT key AS window_start FROM s PARTITION BY key",
        "CREATE STREAM s (key STRING KEY, value INT, timestamp BIGINT, size INT) WITH (kafka_topic='s')",
    ] {
        round_trip(sql);
    }
}
