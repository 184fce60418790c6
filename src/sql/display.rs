//! Canonical SQL for every AST node: keywords upper case, identifiers back-quoted only when
//! they need it, durations in the largest whole unit, `WITH` properties as `NAME='value'`.
//! The parser reads the output back to the same AST (spans and `Ident::quoted` aside).

use std::fmt::{self, Display, Formatter};

use super::ast::{
    ColumnConstraint, ColumnDef, CreateAsSelect, CreateSource, DescribeTarget, Emit, ExplainTarget, Ident, JoinKind,
    OrderByItem, ParsedStatement, Properties, Property, Query, Relation, SelectItem, ShowKind, SourceKind, Statement,
    TerminateTarget, WindowSpec, WithinSpec,
};
use super::expr_display::ExprSql;
use super::types::type_sql;
use crate::types::Value;

/// Words that cannot stand unquoted where a name is expected.
const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "AS",
    "ALL",
    "DISTINCT",
    "WHERE",
    "WITHIN",
    "WINDOW",
    "GROUP",
    "BY",
    "HAVING",
    "LIMIT",
    "AT",
    "OR",
    "AND",
    "IN",
    "NOT",
    "EXISTS",
    "BETWEEN",
    "LIKE",
    "ESCAPE",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "JOIN",
    "FULL",
    "OUTER",
    "INNER",
    "LEFT",
    "RIGHT",
    "CROSS",
    "ON",
    "WITH",
    "VALUES",
    "CREATE",
    "TABLE",
    "STREAM",
    "STREAMS",
    "TABLES",
    "INSERT",
    "INTO",
    "DROP",
    "CAST",
    "EMIT",
    "PARTITION",
    "ORDER",
    "OFFSET",
    "EXTENDED",
    "FUNCTION",
    "ARRAY",
    "MAP",
    "STRUCT",
    "INTERVAL",
    "SAMPLE",
    "BEGINNING",
    "DELETE",
    "ADD",
    "COLUMN",
    "TYPE",
];

/// `name` as SQL: bare when it reads back as the same name, else back-quoted with
/// back-quotes doubled. `quoted` is accepted for symmetry with [`Ident`] but only the
/// spelling decides.
pub(crate) fn quote_ident(name: &str, _quoted: bool) -> String {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '@')
        && !RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// A single-quoted SQL string literal.
pub(crate) fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A duration in the largest unit that divides it exactly.
fn duration(ms: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (86_400_000, "DAYS"),
        (3_600_000, "HOURS"),
        (60_000, "MINUTES"),
        (1_000, "SECONDS"),
    ];
    for (size, unit) in UNITS {
        if ms != 0 && ms % size == 0 {
            return format!("{} {unit}", ms / size);
        }
    }
    format!("{ms} MILLISECONDS")
}

fn comma<T: Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn exprs(items: &[sqlparser::ast::Expr]) -> String {
    items
        .iter()
        .map(|e| ExprSql(e).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_ident(&self.value, self.quoted))
    }
}

impl Display for SourceKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}

impl Display for ParsedStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.statement)
    }
}

impl Display for Property {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name_is_plain = self
            .name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && self.name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_');
        if name_is_plain {
            f.write_str(&self.name)?;
        } else {
            f.write_str(&quote_string(&self.name))?;
        }
        f.write_str("=")?;
        match &self.value {
            Value::String(s) => f.write_str(&quote_string(s)),
            Value::Boolean(b) => f.write_str(if *b { "true" } else { "false" }),
            Value::Null => f.write_str("NULL"),
            // `{:e}` keeps the exponent, so the value reads back as a DOUBLE, not a DECIMAL.
            Value::Double(d) => write!(f, "{d:e}"),
            Value::Int(_) | Value::BigInt(_) | Value::Decimal(..) => write!(f, "{}", self.value),
            other => f.write_str(&quote_string(&other.to_string())),
        }
    }
}

impl Display for Properties {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "({})", comma(&self.0))
    }
}

impl Properties {
    /// ` WITH (...)`, or nothing when there are no properties.
    fn with_clause(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(" WITH {self}")
        }
    }
}

impl Display for ColumnConstraint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ColumnConstraint::None => Ok(()),
            ColumnConstraint::Key => f.write_str(" KEY"),
            ColumnConstraint::PrimaryKey => f.write_str(" PRIMARY KEY"),
            ColumnConstraint::Headers => f.write_str(" HEADERS"),
            ColumnConstraint::Header(k) => write!(f, " HEADER({})", quote_string(k)),
        }
    }
}

impl Display for ColumnDef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.name, type_sql(&self.data_type), self.constraint)
    }
}

fn create_prefix(or_replace: bool, if_not_exists: bool) -> (&'static str, &'static str) {
    (
        if or_replace { "OR REPLACE " } else { "" },
        if if_not_exists { "IF NOT EXISTS " } else { "" },
    )
}

impl Display for CreateSource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (or_replace, if_not_exists) = create_prefix(self.or_replace, self.if_not_exists);
        let source = if self.is_source { "SOURCE " } else { "" };
        write!(
            f,
            "CREATE {or_replace}{source}{} {if_not_exists}{}",
            self.kind, self.name
        )?;
        if !self.columns.is_empty() {
            write!(f, " ({})", comma(&self.columns))?;
        }
        f.write_str(&self.properties.with_clause())
    }
}

impl Display for CreateAsSelect {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (or_replace, if_not_exists) = create_prefix(self.or_replace, self.if_not_exists);
        write!(
            f,
            "CREATE {or_replace}{} {if_not_exists}{}{} AS {}",
            self.kind,
            self.name,
            self.properties.with_clause(),
            self.query
        )
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard => f.write_str("*"),
            SelectItem::QualifiedWildcard(source) => write!(f, "{source}.*"),
            SelectItem::StructAll(base) => write!(f, "{}->*", ExprSql(base)),
            SelectItem::Expr { expr, alias } => {
                write!(f, "{}", ExprSql(expr))?;
                match alias {
                    Some(a) => write!(f, " AS {a}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Display for JoinKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JoinKind::Inner => "INNER JOIN",
            JoinKind::Left => "LEFT OUTER JOIN",
            JoinKind::Right => "RIGHT OUTER JOIN",
            JoinKind::Full => "FULL OUTER JOIN",
        })
    }
}

impl Display for WithinSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.before_ms == self.after_ms {
            write!(f, "WITHIN {}", duration(self.before_ms))?;
        } else {
            write!(f, "WITHIN ({}, {})", duration(self.before_ms), duration(self.after_ms))?;
        }
        if let Some(g) = self.grace_ms {
            write!(f, " GRACE PERIOD {}", duration(g))?;
        }
        Ok(())
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Source { name, alias } => {
                write!(f, "{name}")?;
                match alias {
                    Some(a) => write!(f, " AS {a}"),
                    None => Ok(()),
                }
            }
            Relation::Join {
                left,
                right,
                kind,
                on,
                within,
            } => {
                write!(f, "{left} {kind} {right}")?;
                if let Some(w) = within {
                    write!(f, " {w}")?;
                }
                write!(f, " ON {}", ExprSql(on))
            }
        }
    }
}

fn window_options(f: &mut Formatter<'_>, retention: Option<i64>, grace: Option<i64>) -> fmt::Result {
    if let Some(r) = retention {
        write!(f, ", RETENTION {}", duration(r))?;
    }
    if let Some(g) = grace {
        write!(f, ", GRACE PERIOD {}", duration(g))?;
    }
    f.write_str(")")
}

impl Display for WindowSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            WindowSpec::Tumbling {
                size_ms,
                retention_ms,
                grace_ms,
            } => {
                write!(f, "TUMBLING (SIZE {}", duration(size_ms))?;
                window_options(f, retention_ms, grace_ms)
            }
            WindowSpec::Hopping {
                size_ms,
                advance_ms,
                retention_ms,
                grace_ms,
            } => {
                write!(
                    f,
                    "HOPPING (SIZE {}, ADVANCE BY {}",
                    duration(size_ms),
                    duration(advance_ms)
                )?;
                window_options(f, retention_ms, grace_ms)
            }
            WindowSpec::Session {
                gap_ms,
                retention_ms,
                grace_ms,
            } => {
                write!(f, "SESSION ({}", duration(gap_ms))?;
                window_options(f, retention_ms, grace_ms)
            }
            WindowSpec::Sliding {
                size_ms,
                retention_ms,
                grace_ms,
            } => {
                write!(f, "SLIDING (SIZE {}", duration(size_ms))?;
                window_options(f, retention_ms, grace_ms)
            }
        }
    }
}

impl Display for Emit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Emit::Changes => "EMIT CHANGES",
            Emit::Final => "EMIT FINAL",
        })
    }
}

impl Display for OrderByItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", ExprSql(&self.expr))?;
        if self.descending {
            f.write_str(" DESC")?;
        }
        Ok(())
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {} FROM {}", comma(&self.select), self.from)?;
        if let Some(w) = &self.window {
            write!(f, " WINDOW {w}")?;
        }
        if let Some(e) = &self.selection {
            write!(f, " WHERE {}", ExprSql(e))?;
        }
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY {}", exprs(&self.group_by))?;
        }
        if !self.partition_by.is_empty() {
            write!(f, " PARTITION BY {}", exprs(&self.partition_by))?;
        }
        if let Some(e) = &self.having {
            write!(f, " HAVING {}", ExprSql(e))?;
        }
        if let Some(e) = &self.emit {
            write!(f, " {e}")?;
        }
        if !self.order_by.is_empty() {
            write!(f, " ORDER BY {}", comma(&self.order_by))?;
        }
        if let Some(n) = self.limit {
            write!(f, " LIMIT {n}")?;
        }
        if let Some(n) = self.offset {
            write!(f, " OFFSET {n}")?;
        }
        Ok(())
    }
}

impl Display for TerminateTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TerminateTarget::All => f.write_str("ALL"),
            TerminateTarget::Query(id) => f.write_str(&word_or_string(id)),
        }
    }
}

/// A query id or variable name as written when it reads back as a word, else quoted.
fn word_or_string(s: &str) -> String {
    let mut chars = s.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
        && !RESERVED.contains(&s.to_ascii_uppercase().as_str());
    if plain {
        s.to_string()
    } else {
        format!("`{}`", s.replace('`', "``"))
    }
}

impl Display for ShowKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShowKind::Streams => "STREAMS",
            ShowKind::Tables => "TABLES",
            ShowKind::Queries => "QUERIES",
            ShowKind::Topics { all: false } => "TOPICS",
            ShowKind::Topics { all: true } => "ALL TOPICS",
            ShowKind::Properties => "PROPERTIES",
            ShowKind::Functions => "FUNCTIONS",
            ShowKind::Variables => "VARIABLES",
            ShowKind::Types => "TYPES",
        })
    }
}

impl Display for DescribeTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DescribeTarget::Source(name) => write!(f, "{name}"),
            DescribeTarget::Streams => f.write_str("STREAMS"),
            DescribeTarget::Tables => f.write_str("TABLES"),
            DescribeTarget::Function(name) => write!(f, "FUNCTION {name}"),
        }
    }
}

impl Display for ExplainTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ExplainTarget::QueryId(id) => f.write_str(&word_or_string(id)),
            ExplainTarget::Statement(s) => write!(f, "{s}"),
        }
    }
}

fn extended(on: bool) -> &'static str {
    if on { " EXTENDED" } else { "" }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateSource(c) => write!(f, "{c}"),
            Statement::CreateAsSelect(c) => write!(f, "{c}"),
            Statement::InsertInto {
                target,
                properties,
                query,
            } => write!(f, "INSERT INTO {target}{} {query}", properties.with_clause()),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => {
                write!(f, "INSERT INTO {target}")?;
                if let Some(cols) = columns {
                    write!(f, " ({})", comma(cols))?;
                }
                write!(f, " VALUES ({})", exprs(values))
            }
            Statement::Query(q) => write!(f, "{q}"),
            Statement::Drop {
                kind,
                if_exists,
                name,
                delete_topic,
            } => write!(
                f,
                "DROP {kind} {}{name}{}",
                if *if_exists { "IF EXISTS " } else { "" },
                if *delete_topic { " DELETE TOPIC" } else { "" }
            ),
            Statement::DropType { if_exists, name } => {
                write!(f, "DROP TYPE {}{name}", if *if_exists { "IF EXISTS " } else { "" })
            }
            Statement::CreateType {
                if_not_exists,
                name,
                data_type,
            } => write!(
                f,
                "CREATE TYPE {}{name} AS {}",
                if *if_not_exists { "IF NOT EXISTS " } else { "" },
                type_sql(data_type)
            ),
            Statement::Terminate(t) => write!(f, "TERMINATE {t}"),
            Statement::Pause(t) => write!(f, "PAUSE {t}"),
            Statement::Resume(t) => write!(f, "RESUME {t}"),
            Statement::Show { what, extended: e } => write!(f, "SHOW {what}{}", extended(*e)),
            Statement::Describe { target, extended: e } => write!(f, "DESCRIBE {target}{}", extended(*e)),
            Statement::Explain(t) => write!(f, "EXPLAIN {t}"),
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => {
                if topic.quoted {
                    write!(f, "PRINT {}", quote_string(&topic.value))?;
                } else {
                    write!(f, "PRINT {topic}")?;
                }
                if *from_beginning {
                    f.write_str(" FROM BEGINNING")?;
                }
                if let Some(n) = interval {
                    write!(f, " INTERVAL {n}")?;
                }
                if let Some(n) = limit {
                    write!(f, " LIMIT {n}")?;
                }
                Ok(())
            }
            Statement::Set { name, value } => {
                write!(f, "SET {}={}", quote_string(name), quote_string(value))
            }
            Statement::Unset { name } => write!(f, "UNSET {}", quote_string(name)),
            Statement::AlterSystem { name, value } => {
                write!(f, "ALTER SYSTEM {}={}", quote_string(name), quote_string(value))
            }
            Statement::RunScript { path } => write!(f, "RUN SCRIPT {}", quote_string(path)),
            Statement::Define { name, value } => {
                write!(f, "DEFINE {name}={}", quote_string(value))
            }
            Statement::Undefine { name } => write!(f, "UNDEFINE {name}"),
            Statement::AlterSource {
                kind,
                name,
                add_columns,
            } => {
                write!(f, "ALTER {kind} {name} ")?;
                for (i, c) in add_columns.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "ADD COLUMN {c}")?;
                }
                Ok(())
            }
        }
    }
}
