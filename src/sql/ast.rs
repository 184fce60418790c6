//! The statement AST. Expressions are sqlparser's [`Expr`]; everything around them (the
//! ksqlDB statements, clauses, windows, properties) is ours. Every node prints back as
//! canonical SQL through `Display` (see `display.rs`), so `parse(print(ast)) == ast`.
//!
//! Expression shapes the planner relies on (produced by the parser's ksqlDB dialect,
//! checked by the tests in `tests.rs`):
//! - column references: `Expr::Identifier`, `a.b` → `Expr::CompoundIdentifier`. Names keep
//!   their spelling and `quote_style` (`None`, `` Some('`') ``, `Some('"')`): unquoted names
//!   are NOT upper-cased inside expressions, the planner normalizes them;
//! - struct field access `a->b->c`: nested `Expr::BinaryOp { op: BinaryOperator::Arrow, .. }`
//!   whose right side is `Expr::Identifier` (the field name);
//! - array and map subscripts `a[1]`, `m['k']`, `a.b[1]`, `s->f[1]`: `Expr::CompoundFieldAccess`
//!   with `AccessExpr::Subscript(Subscript::Index { .. })` (after a qualified name the chain
//!   starts with `AccessExpr::Dot`; after a dereference the root is the `Arrow` `BinaryOp`);
//! - lambdas `x => x + 1` and `(x, y) => x + y`: `Expr::Lambda` with
//!   `OneOrManyWithParens::One` / `Many` parameters (`syntax` is `LambdaSyntax::Arrow`, but
//!   print with [`super::ExprSql`], which writes `=>`);
//! - `ARRAY[1, 2]`: `Expr::Array { named: true, .. }`; `MAP('k' := 1)`, `STRUCT(a := 1)`:
//!   `Expr::Function` named `MAP` / `STRUCT` whose arguments are `FunctionArg::ExprNamed`
//!   with `operator: FunctionArgOperator::Assignment` (the name is the key expression for
//!   MAP and an `Expr::Identifier` for STRUCT);
//! - every `name(args)` is a plain `Expr::Function` (also `SUBSTRING`, `TRIM`, `EXTRACT`,
//!   `LEFT`, ...), `COUNT(*)` has a `FunctionArgExpr::Wildcard` argument;
//! - `CAST(x AS type)`: `Expr::Cast` whose `data_type` converts back with
//!   [`super::from_data_type`] (ksqlDB types, custom type names already resolved);
//! - literals: `Value::Number(text, false)` keeps the digits as written (`1.50` stays exact),
//!   `Value::SingleQuotedString` with `''` unescaped, `Value::Boolean`, `Value::Null`;
//! - predicates: `Expr::Between`, `Expr::In { target: InTarget::List(..) }`, `Expr::Like`
//!   (with `escape_char`), `Expr::IsNull`/`IsNotNull`, `Expr::IsDistinctFrom`/
//!   `IsNotDistinctFrom`, `Expr::Case`; parentheses are kept as `Expr::Nested`.
//! - `INTERVAL`, `CURRENT_TIMESTAMP` and similar words not followed by `(` are plain
//!   identifiers.
//!
//! `GROUP BY` and `PARTITION BY` take ksqlDB value expressions (no AND/OR/comparisons at the
//! top level); `GROUP BY (a, b)` is the same list as `GROUP BY a, b`.

pub use sqlparser::ast::Expr;

use crate::types::{SqlType, Value};

/// A position in the statement text, 1-based.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

/// A range of statement text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Where it starts.
    pub start: Location,
    /// Where it ends.
    pub end: Location,
}

/// An identifier as written, with its normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name as the catalog stores it: upper-cased unless it was quoted.
    pub value: String,
    /// Whether it was quoted with back-quotes or double quotes.
    pub quoted: bool,
    /// Where it was written.
    pub span: Span,
}

/// One parsed statement with its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    /// The statement.
    pub statement: Statement,
    /// The text it was parsed from, without the trailing `;`.
    pub text: String,
    /// Where the statement stands in the input.
    pub span: Span,
}

/// Stream or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A stream: every record is an event.
    Stream,
    /// A table: records are upserts by key.
    Table,
}

/// A ksqlDB statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (columns) WITH (...)`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO target [WITH (...)] SELECT ...`
    InsertInto {
        /// The stream written to.
        target: Ident,
        /// `WITH (QUERY_ID = '...')` and friends.
        properties: Properties,
        /// The query whose rows are written.
        query: Box<Query>,
    },
    /// `INSERT INTO target [(columns)] VALUES (values)`
    InsertValues {
        /// The stream or table written to.
        target: Ident,
        /// The columns named, if any (else all columns in order, key columns first).
        columns: Option<Vec<Ident>>,
        /// One expression per column.
        values: Vec<Expr>,
    },
    /// `SELECT ...`: a push query with `EMIT`, a pull query without.
    Query(Box<Query>),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    Drop {
        /// What is dropped.
        kind: SourceKind,
        /// `IF EXISTS`
        if_exists: bool,
        /// The source.
        name: Ident,
        /// `DELETE TOPIC`
        delete_topic: bool,
    },
    /// `DROP TYPE [IF EXISTS] name`
    DropType {
        /// `IF EXISTS`
        if_exists: bool,
        /// The type name.
        name: Ident,
    },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`
    CreateType {
        /// `IF NOT EXISTS`
        if_not_exists: bool,
        /// The type name.
        name: Ident,
        /// What it stands for.
        data_type: SqlType,
    },
    /// `TERMINATE query_id` / `TERMINATE ALL`
    Terminate(TerminateTarget),
    /// `PAUSE query_id|ALL`
    Pause(TerminateTarget),
    /// `RESUME query_id|ALL`
    Resume(TerminateTarget),
    /// `SHOW|LIST ... [EXTENDED]`
    Show {
        /// What is listed.
        what: ShowKind,
        /// `EXTENDED`
        extended: bool,
    },
    /// `DESCRIBE ...`
    Describe {
        /// What is described.
        target: DescribeTarget,
        /// `EXTENDED`
        extended: bool,
    },
    /// `EXPLAIN query_id` / `EXPLAIN statement`
    Explain(ExplainTarget),
    /// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`
    Print {
        /// The topic name (quoted or not, case kept as written when quoted).
        topic: Ident,
        /// `FROM BEGINNING`
        from_beginning: bool,
        /// Print every n-th record.
        interval: Option<u64>,
        /// Stop after n records.
        limit: Option<u64>,
    },
    /// `SET 'name' = 'value'`
    Set {
        /// Property name.
        name: String,
        /// Property value.
        value: String,
    },
    /// `UNSET 'name'`
    Unset {
        /// Property name.
        name: String,
    },
    /// `ALTER SYSTEM 'name' = 'value'`
    AlterSystem {
        /// Property name.
        name: String,
        /// Property value.
        value: String,
    },
    /// `RUN SCRIPT 'path'`
    RunScript {
        /// The file to run.
        path: String,
    },
    /// `DEFINE name = 'value'`
    Define {
        /// Variable name (case kept).
        name: String,
        /// Its value.
        value: String,
    },
    /// `UNDEFINE name`
    Undefine {
        /// Variable name.
        name: String,
    },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] c type, ...`
    AlterSource {
        /// Stream or table.
        kind: SourceKind,
        /// The source.
        name: Ident,
        /// Columns added.
        add_columns: Vec<ColumnDef>,
    },
}

/// `CREATE STREAM|TABLE` over a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    /// Stream or table.
    pub kind: SourceKind,
    /// `OR REPLACE`
    pub or_replace: bool,
    /// `SOURCE` (read-only, materialized for tables)
    pub is_source: bool,
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// Its name.
    pub name: Ident,
    /// Column definitions (may be empty when the format infers them).
    pub columns: Vec<ColumnDef>,
    /// `WITH (...)`
    pub properties: Properties,
}

/// `CREATE STREAM|TABLE ... AS SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    /// Stream or table.
    pub kind: SourceKind,
    /// `OR REPLACE`
    pub or_replace: bool,
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// The sink's name.
    pub name: Ident,
    /// `WITH (...)`
    pub properties: Properties,
    /// The query.
    pub query: Box<Query>,
}

/// A column in `CREATE STREAM|TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub data_type: SqlType,
    /// `KEY`, `PRIMARY KEY`, `HEADERS`, `HEADER('k')`, or nothing.
    pub constraint: ColumnConstraint,
}

/// What follows a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    /// A value column.
    None,
    /// `KEY` (streams).
    Key,
    /// `PRIMARY KEY` (tables).
    PrimaryKey,
    /// `HEADERS`: all headers.
    Headers,
    /// `HEADER('k')`: the last header with key k.
    Header(String),
}

/// `WITH (NAME = value, ...)`. Names are upper-cased; values are literals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties(pub Vec<Property>);

/// One `NAME = value` in a `WITH` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Upper-cased name.
    pub name: String,
    /// The literal: a string, number or boolean.
    pub value: Value,
    /// Where it was written.
    pub span: Span,
}

impl Properties {
    /// The property called `name` (upper case).
    pub fn get(&self, name: &str) -> Option<&Property> {
        self.0.iter().find(|p| p.name == name)
    }
}

/// A `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The select list.
    pub select: Vec<SelectItem>,
    /// `FROM`
    pub from: Relation,
    /// `WINDOW ...`
    pub window: Option<WindowSpec>,
    /// `WHERE`
    pub selection: Option<Expr>,
    /// `GROUP BY`
    pub group_by: Vec<Expr>,
    /// `PARTITION BY`
    pub partition_by: Vec<Expr>,
    /// `HAVING`
    pub having: Option<Expr>,
    /// `EMIT CHANGES|FINAL`; `None` for a pull query.
    pub emit: Option<Emit>,
    /// `ORDER BY` (pull queries).
    pub order_by: Vec<OrderByItem>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n` (pull queries).
    pub offset: Option<u64>,
    /// Where the query stands in the text.
    pub span: Span,
}

/// One `ORDER BY` item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderByItem {
    /// What is sorted by.
    pub expr: Expr,
    /// `ASC` (default) or `DESC`.
    pub descending: bool,
}

/// `EMIT CHANGES` or `EMIT FINAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// Every change.
    Changes,
    /// One result per window after it closes.
    Final,
}

/// An item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard,
    /// `alias.*`
    QualifiedWildcard(Ident),
    /// `base->*`: every field of the struct `base`, each as its own column.
    StructAll(Expr),
    /// `expr [AS alias]`
    Expr {
        /// The expression.
        expr: Expr,
        /// Its alias.
        alias: Option<Ident>,
    },
}

/// A `FROM` item.
// Joins are few per query, so the inline `Expr` costs little; boxing it would change the
// shape the planner matches on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// A stream or table, optionally aliased.
    Source {
        /// Its name.
        name: Ident,
        /// `AS alias` or a bare alias.
        alias: Option<Ident>,
    },
    /// `left [INNER|LEFT [OUTER]|RIGHT [OUTER]|FULL [OUTER]] JOIN right [WITHIN ...] ON expr`
    Join {
        /// Left input.
        left: Box<Relation>,
        /// Right input.
        right: Box<Relation>,
        /// The join type.
        kind: JoinKind,
        /// The join condition.
        on: Expr,
        /// `WITHIN` (stream-stream joins).
        within: Option<WithinSpec>,
    },
}

/// A join type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`
    Inner,
    /// `LEFT [OUTER] JOIN`
    Left,
    /// `RIGHT [OUTER] JOIN`
    Right,
    /// `FULL [OUTER] JOIN`
    Full,
}

/// `WITHIN n unit [GRACE PERIOD n unit]` or `WITHIN (before, after) [GRACE PERIOD ...]`. Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithinSpec {
    /// How far before the left record a right record may be.
    pub before_ms: i64,
    /// How far after.
    pub after_ms: i64,
    /// `GRACE PERIOD`
    pub grace_ms: Option<i64>,
}

/// `WINDOW TUMBLING|HOPPING|SESSION|SLIDING (...)`. Durations in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    /// `TUMBLING (SIZE n unit [, RETENTION n unit] [, GRACE PERIOD n unit])`
    Tumbling {
        /// Window size.
        size_ms: i64,
        /// `RETENTION`
        retention_ms: Option<i64>,
        /// `GRACE PERIOD`
        grace_ms: Option<i64>,
    },
    /// `HOPPING (SIZE n unit, ADVANCE BY n unit [, RETENTION ...] [, GRACE PERIOD ...])`
    Hopping {
        /// Window size.
        size_ms: i64,
        /// Advance.
        advance_ms: i64,
        /// `RETENTION`
        retention_ms: Option<i64>,
        /// `GRACE PERIOD`
        grace_ms: Option<i64>,
    },
    /// `SESSION (n unit [, RETENTION ...] [, GRACE PERIOD ...])`
    Session {
        /// Inactivity gap.
        gap_ms: i64,
        /// `RETENTION`
        retention_ms: Option<i64>,
        /// `GRACE PERIOD`
        grace_ms: Option<i64>,
    },
    /// `SLIDING (SIZE n unit [, RETENTION ...] [, GRACE PERIOD ...])`
    Sliding {
        /// Time difference.
        size_ms: i64,
        /// `RETENTION`
        retention_ms: Option<i64>,
        /// `GRACE PERIOD`
        grace_ms: Option<i64>,
    },
}

/// What `TERMINATE`, `PAUSE` and `RESUME` act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminateTarget {
    /// One query by id (as written; ids are matched case-insensitively).
    Query(String),
    /// `ALL`
    All,
}

/// What `SHOW`/`LIST` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowKind {
    /// `STREAMS`
    Streams,
    /// `TABLES`
    Tables,
    /// `QUERIES`
    Queries,
    /// `TOPICS` (`ALL TOPICS` includes internal ones)
    Topics {
        /// `ALL`
        all: bool,
    },
    /// `PROPERTIES`
    Properties,
    /// `FUNCTIONS`
    Functions,
    /// `VARIABLES`
    Variables,
    /// `TYPES`
    Types,
}

/// What `DESCRIBE` describes.
#[derive(Debug, Clone, PartialEq)]
pub enum DescribeTarget {
    /// One stream or table.
    Source(Ident),
    /// `DESCRIBE STREAMS`
    Streams,
    /// `DESCRIBE TABLES`
    Tables,
    /// `DESCRIBE FUNCTION name`
    Function(Ident),
}

/// What `EXPLAIN` explains.
#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    /// A running query's id.
    QueryId(String),
    /// A statement that is planned but not run.
    Statement(Box<Statement>),
}
