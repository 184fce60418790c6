//! Planning a `SELECT`: name resolution over its source, `WHERE`, the select list, and the
//! output key (the source key, or the `PARTITION BY` expressions).

use std::sync::Arc;

use sqlparser::ast::Expr;

use super::binder::{Binder, SYNTH_COLUMN_BASE, Scope, ScopeColumn, ident_name, is_null_literal};
use super::catalog::{Catalog, SourceDesc};
use super::logical::LogicalPlan;
use crate::error::{Error, Result};
use crate::function::FunctionRegistry;
use crate::runtime::batch::BatchSchema;
use crate::runtime::expr::PhysicalExpr;
use crate::sql::ast::{Emit, Query, Relation, SelectItem, SourceKind};
use crate::types::{Column, ColumnKind, PSEUDO_COLUMNS, SqlType};

/// What the planned query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryPurpose {
    /// A persistent query writing a sink (`CREATE ... AS SELECT`, `INSERT INTO`): the output
    /// key must be the source key or the `PARTITION BY` expressions.
    Persistent,
    /// A transient query whose rows go to the caller in select-list order.
    Transient,
}

/// A planned query.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// The logical plan.
    pub root: LogicalPlan,
    /// The source read.
    pub source: Arc<SourceDesc>,
    /// Whether the result is a stream or a table.
    pub result_kind: SourceKind,
    /// `LIMIT`
    pub limit: Option<u64>,
    /// `EMIT`
    pub emit: Option<Emit>,
}

impl QueryPlan {
    /// The output data columns (key columns marked `Key`).
    pub fn output_columns(&self) -> &[Column] {
        self.root.schema().data_columns()
    }
}

/// Plans `query` for `purpose`. `sink_name` names the sink in error messages.
pub fn plan_query(
    query: &Query,
    catalog: &Catalog,
    functions: &FunctionRegistry,
    purpose: QueryPurpose,
    sink_name: &str,
) -> Result<QueryPlan> {
    let (source_name, alias) = match &query.from {
        Relation::Source { name, alias } => (name, alias.as_ref().unwrap_or(name)),
        Relation::Join { .. } => {
            return Err(Error::plan(
                "joins (stream-stream, stream-table, table-table, foreign-key) are not implemented in Runnel yet",
            ));
        }
    };
    let Some(source) = catalog.source(&source_name.value).cloned() else {
        return Err(Error::plan(format!(
            "{} does not exist. Use SHOW STREAMS; or SHOW TABLES; to see what exists.",
            source_name.value
        )));
    };
    if query.window.is_some() {
        return Err(Error::plan(format!(
            "the query on {} uses WINDOW: windowed aggregation (TUMBLING, HOPPING, SESSION, SLIDING) is not implemented in Runnel yet; GROUP BY without a WINDOW clause is",
            source.name
        )));
    }
    if purpose == QueryPurpose::Transient && query.emit.is_none() {
        check_pull_pseudo_columns(query)?;
    }
    if query.having.is_some() && query.group_by.is_empty() {
        return Err(Error::plan("HAVING requires GROUP BY"));
    }
    let alias = alias.value.clone();
    let source_schema = source_batch_schema(&source);
    let scope = scope_of(&source_schema, &alias);
    let mut binder = Binder::new(&scope, functions, catalog);

    let mut root = LogicalPlan::Source {
        source: source.clone(),
        alias: alias.clone(),
        schema: source_schema.clone(),
    };
    if let Some(selection) = &query.selection {
        binder.set_clause("WHERE");
        let predicate = binder.bind(selection).map_err(|e| {
            if binder.take_late_error() {
                Error::plan(format!("Invalid Predicate: {}", e.message))
            } else {
                Error::plan(format!("Error in WHERE expression: {}", e.message))
            }
        })?;
        let predicate = if is_null_literal(&predicate) {
            PhysicalExpr::literal(crate::types::Value::Null, SqlType::Boolean)
        } else {
            predicate
        };
        if predicate.ty() != SqlType::Boolean {
            return Err(Error::plan(format!(
                "Type error in WHERE expression: Should evaluate to boolean but is {predicate} ({}) instead.",
                predicate.ty()
            )));
        }
        root = LogicalPlan::Filter {
            input: Box::new(root),
            predicate,
        };
    }

    if purpose == QueryPurpose::Transient && query.emit.is_none() && !query.group_by.is_empty() {
        return Err(Error::plan(
            "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries for more info.\n\
             Add EMIT CHANGES if you intended to issue a push query.",
        ));
    }
    // Aggregates without GROUP BY: one group for the whole input in a push query, an error
    // (raised by the aggregate planner, after the select list is checked) otherwise.
    let global_aggregate = query.group_by.is_empty()
        && (purpose == QueryPurpose::Persistent || query.emit.is_some())
        && query.select.iter().any(|item| match item {
            SelectItem::Expr { expr, .. } => super::aggregate::contains_aggregate(expr, functions),
            _ => false,
        });
    if (!query.group_by.is_empty() || global_aggregate) && !query.partition_by.is_empty() {
        return Err(Error::plan(
            "PARTITION BY cannot be used with an aggregation: the GROUP BY expressions are the result's key. \
             Repartition the input in a query of its own first.",
        ));
    }
    if !query.group_by.is_empty() || global_aggregate {
        if query.select.iter().any(|item| match item {
            SelectItem::Expr { expr, .. } | SelectItem::StructAll(expr) => calls_table_function(expr),
            _ => false,
        }) {
            return Err(Error::plan("Table functions cannot be used with aggregations."));
        }
        return super::aggregate::plan_aggregate(query, source, root, &scope, catalog, functions, purpose, sink_name);
    }

    // The select list, in order: (name, expression, is a plain source column, is star).
    // Table functions bind to placeholder columns, placed once the flat map's schema is known.
    binder.allow_table_functions();
    binder.set_clause("SELECT");
    let mut aliases = AliasGenerator::new(source_schema.data_columns().iter().map(|c| c.name.as_str()));
    let mut items: Vec<(String, PhysicalExpr, bool)> = Vec::new();
    let mut star = false;
    for item in &query.select {
        match item {
            SelectItem::Wildcard => {
                star = true;
                items.extend(star_columns(&source_schema, !query.partition_by.is_empty()));
            }
            SelectItem::QualifiedWildcard(q) => {
                if q.value != alias && q.value != source.name {
                    return Err(Error::plan(format!(
                        "'{}' is not a valid stream/table name or alias.",
                        q.value
                    )));
                }
                star = true;
                items.extend(star_columns(&source_schema, !query.partition_by.is_empty()));
            }
            SelectItem::StructAll(expr) => {
                let base = binder.bind(expr)?;
                let SqlType::Struct(fields) = base.ty() else {
                    return Err(Error::plan(format!(
                        "{expr}->* needs a STRUCT, but it is {}",
                        base.ty()
                    )));
                };
                for (field, ty) in fields {
                    let e = PhysicalExpr::Field {
                        expr: Box::new(base.clone()),
                        field: field.clone(),
                        ty,
                    };
                    items.push((field, e, false));
                }
            }
            SelectItem::Expr { expr, alias } => {
                let bound = binder.bind(expr).map_err(|e| {
                    if binder.take_late_error() {
                        Error::plan(format!("Invalid Select: {}", e.message))
                    } else {
                        e
                    }
                })?;
                if is_null_literal(&bound) {
                    return Err(Error::plan(
                        "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR).",
                    ));
                }
                let name = match alias {
                    Some(a) if purpose == QueryPurpose::Persistent && is_reserved_column(&a.value) => {
                        return Err(Error::plan(format!(
                            "`{}` is a reserved column name. You cannot use it as an alias for a column.",
                            a.value
                        )));
                    }
                    Some(a) => a.value.clone(),
                    None => aliases.name_for(expr),
                };
                let plain = matches!(bound, PhysicalExpr::Column { .. });
                items.push((name, bound, plain));
            }
        }
    }

    // Table functions: a flat map between the source (after WHERE) and the projection. Its
    // output inserts one column per call after the data columns, before the pseudo columns.
    let table_functions = binder.take_table_functions();
    let data_len = source_schema.data_columns().len();
    let synth_count = table_functions.len();
    let place = move |i: usize| -> usize {
        if i >= SYNTH_COLUMN_BASE {
            data_len + (i - SYNTH_COLUMN_BASE)
        } else if i >= data_len {
            i + synth_count
        } else {
            i
        }
    };
    let mut input_schema = source_schema.clone();
    if !table_functions.is_empty() {
        if source.kind == SourceKind::Table {
            return Err(Error::plan("Table source is not supported with table functions"));
        }
        let mut data = source_schema.data_columns().to_vec();
        for (n, call) in table_functions.iter().enumerate() {
            data.push(Column {
                name: format!("KSQL_SYNTH_{n}"),
                ty: call.ty.clone(),
                kind: ColumnKind::Value,
            });
        }
        input_schema = BatchSchema::with_pseudo_columns(data);
        for (_, e, _) in &mut items {
            e.remap_columns(&mut { place });
        }
        root = LogicalPlan::FlatMap {
            input: Box::new(root),
            functions: table_functions,
            schema: input_schema.clone(),
        };
    }

    let key_columns: Vec<&Column> = source_schema
        .data_columns()
        .iter()
        .filter(|c| c.kind == ColumnKind::Key)
        .collect();
    let mut out_cols: Vec<Column> = Vec::new();
    let mut exprs: Vec<PhysicalExpr> = Vec::new();
    // Key columns named after a PARTITION BY expression under SELECT * (which may be a
    // pseudo column: `PARTITION BY ROWTIME` makes a key column ROWTIME).
    let mut generated_keys: Vec<String> = Vec::new();
    let rekeyed = !query.partition_by.is_empty();
    if purpose == QueryPurpose::Transient {
        for (name, e, _) in &items {
            let kind = match e {
                PhysicalExpr::Column { index, .. }
                    if input_schema
                        .columns
                        .get(*index)
                        .is_some_and(|c| c.kind == ColumnKind::Key) =>
                {
                    ColumnKind::Key
                }
                _ => ColumnKind::Value,
            };
            out_cols.push(Column {
                name: name.clone(),
                ty: e.ty(),
                kind,
            });
            exprs.push(e.clone());
        }
    } else if rekeyed {
        if query.partition_by.len() > 1 && query.partition_by.iter().any(is_null_expr) {
            return Err(Error::plan("Cannot PARTITION BY multiple columns including NULL"));
        }
        let mut remaining = items.clone();
        let mut partition_aliases = AliasGenerator::new(source_schema.data_columns().iter().map(|c| c.name.as_str()));
        binder.set_clause("PARTITION BY");
        for pexpr in &query.partition_by {
            let mut bound = binder.bind(pexpr).map_err(|e| match pexpr {
                Expr::Identifier(i) if e.message.contains("cannot be resolved") => {
                    let name = ident_name(i);
                    Error::plan(format!(
                        "PARTITION BY column '{name}' cannot be resolved. '{name}' must be a column in the source schema since PARTITION BY is applied on the input."
                    ))
                }
                _ => e,
            })?;
            bound.remap_columns(&mut { place });
            if is_null_literal(&bound) {
                continue; // PARTITION BY NULL: records get a null key.
            }
            let text = bound.to_string();
            let pos = remaining.iter().position(|(_, e, _)| e.to_string() == text);
            let name = match pos {
                Some(p) => remaining.remove(p).0,
                None if star => {
                    let name = match &bound {
                        PhysicalExpr::Column { name, .. } => name.clone(),
                        _ => partition_aliases.name_for(pexpr),
                    };
                    generated_keys.push(name.clone());
                    name
                }
                None => {
                    let text = qualified(&bound, &alias).to_string();
                    return Err(Error::plan(format!(
                        "The query used to build `{sink_name}` must include the partitioning expression {text} in its projection (eg, SELECT {text}...)."
                    )));
                }
            };
            out_cols.push(Column {
                name,
                ty: bound.ty(),
                kind: ColumnKind::Key,
            });
            exprs.push(bound);
        }
        for (name, e, _) in remaining {
            out_cols.push(Column {
                name,
                ty: e.ty(),
                kind: ColumnKind::Value,
            });
            exprs.push(e);
        }
    } else {
        let mut remaining = items.clone();
        for key in &key_columns {
            let pos = remaining.iter().position(|(_, e, plain)| {
                *plain && matches!(e, PhysicalExpr::Column { name, .. } if name == &key.name)
            });
            match pos {
                Some(p) => {
                    let (name, e, _) = remaining.remove(p);
                    let mut aliases: Vec<&str> = remaining
                        .iter()
                        .filter(|(_, e, plain)| {
                            *plain && matches!(e, PhysicalExpr::Column { name, .. } if name == &key.name)
                        })
                        .map(|(n, _, _)| n.as_str())
                        .collect();
                    if !aliases.is_empty() {
                        aliases.push(&name);
                        aliases.sort();
                        let (last, rest) = aliases.split_last().unwrap_or((&"", &[]));
                        return Err(Error::plan(format!(
                            "The projection contains a key column (`{}`) more than once, aliased as: {} and {last}.",
                            key.name,
                            rest.join(", ")
                        )));
                    }
                    out_cols.push(Column {
                        name,
                        ty: e.ty(),
                        kind: ColumnKind::Key,
                    });
                    exprs.push(e);
                }
                None => {
                    let names: Vec<&str> = key_columns.iter().map(|k| k.name.as_str()).collect();
                    let listed = match names.split_last() {
                        Some((last, rest)) if !rest.is_empty() => format!("s {} and {last}", rest.join(", ")),
                        _ => format!(" {}", names.join("")),
                    };
                    return Err(Error::plan(format!(
                        "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{sink_name}` must include the key column{listed} in its projection (eg, SELECT {}...).",
                        names.join(", ")
                    )));
                }
            }
        }
        for (name, e, _) in remaining {
            out_cols.push(Column {
                name,
                ty: e.ty(),
                kind: ColumnKind::Value,
            });
            exprs.push(e);
        }
    }
    check_duplicates(&out_cols)?;
    if purpose == QueryPurpose::Persistent
        && let Some(c) = out_cols
            .iter()
            .find(|c| is_reserved_column(&c.name) && !generated_keys.contains(&c.name))
    {
        return Err(Error::plan(format!(
            "Reserved column name in select: `{}`. Please remove or alias the column.",
            c.name
        )));
    }
    if purpose == QueryPurpose::Persistent && out_cols.iter().all(|c| c.kind == ColumnKind::Key) && !out_cols.is_empty()
    {
        return Err(Error::plan(format!(
            "The projection of `{sink_name}` contains no value columns."
        )));
    }
    let schema = BatchSchema::with_pseudo_columns(out_cols);
    root = LogicalPlan::Project {
        input: Box::new(root),
        exprs,
        schema,
        rekeyed,
    };
    Ok(QueryPlan {
        root,
        result_kind: source.kind,
        source,
        limit: query.limit,
        emit: query.emit,
    })
}

fn check_duplicates(cols: &[Column]) -> Result<()> {
    for (i, c) in cols.iter().enumerate() {
        if cols[..i].iter().any(|o| o.name == c.name) {
            return Err(Error::plan(format!(
                "Duplicate {} columns found in schema: `{}` {}. Give one of them an alias with AS.",
                if c.kind == ColumnKind::Key { "key" } else { "value" },
                c.name,
                c.ty
            )));
        }
    }
    Ok(())
}

/// The batch schema of a source: key, value and header columns, then the pseudo columns.
pub fn source_batch_schema(source: &SourceDesc) -> BatchSchema {
    let mut data: Vec<Column> = source
        .schema
        .columns
        .iter()
        .filter(|c| c.kind == ColumnKind::Key)
        .cloned()
        .collect();
    data.extend(
        source
            .schema
            .columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Key)
            .cloned(),
    );
    BatchSchema::with_pseudo_columns(data)
}

fn scope_of(schema: &BatchSchema, alias: &str) -> Scope {
    Scope {
        columns: schema
            .columns
            .iter()
            .enumerate()
            .map(|(index, c)| ScopeColumn {
                qualifier: Some(alias.to_string()),
                name: c.name.clone(),
                ty: c.ty.clone(),
                index,
            })
            .collect(),
    }
}

/// The columns `SELECT *` stands for: key columns then the others, in source order. After
/// `PARTITION BY` the old key columns come last, after the value columns, as in ksqlDB (its
/// repartitioned rows carry the old key at the end of the value).
fn star_columns(schema: &BatchSchema, rekeyed: bool) -> Vec<(String, PhysicalExpr, bool)> {
    let mut cols: Vec<(String, PhysicalExpr, bool)> = schema
        .data_columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.name.clone(),
                PhysicalExpr::column(i, c.name.clone(), c.ty.clone()),
                true,
            )
        })
        .collect();
    if rekeyed {
        let key_count = schema
            .data_columns()
            .iter()
            .filter(|c| c.kind == ColumnKind::Key)
            .count();
        cols.rotate_left(key_count);
    }
    cols
}

/// Whether a parsed expression is the NULL literal.
fn is_null_expr(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => is_null_expr(inner),
        Expr::Value(v) => matches!(v.value, sqlparser::ast::Value::Null),
        _ => false,
    }
}

/// `e` with its columns qualified by `source` (`ABS(INPUT.ID)`), as ksqlDB prints
/// expressions in some messages.
fn qualified(e: &PhysicalExpr, source: &str) -> PhysicalExpr {
    let mut q = e.clone();
    fn walk(e: &mut PhysicalExpr, source: &str) {
        if let PhysicalExpr::Column { name, .. } = e {
            *name = format!("{source}.{name}");
            return;
        }
        e.for_each_child_mut(&mut |c| walk(c, source));
    }
    walk(&mut q, source);
    q
}

/// Pseudo columns a pull query may not read: a pull query reads stored rows, which have no
/// partition or offset.
const PULL_DISALLOWED_COLUMNS: [&str; 2] = ["ROWPARTITION", "ROWOFFSET"];

/// ksqlDB's pull-query check on pseudo columns in the select list and in `WHERE`.
fn check_pull_pseudo_columns(query: &Query) -> Result<()> {
    let used = |exprs: &mut dyn Iterator<Item = &Expr>| -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for e in exprs {
            super::rewrite::rewrite_in_place(&mut e.clone(), &mut |x| {
                let name = match x {
                    Expr::Identifier(i) => ident_name(i),
                    Expr::CompoundIdentifier(parts) if parts.len() == 2 => ident_name(&parts[1]),
                    _ => return None,
                };
                if PULL_DISALLOWED_COLUMNS.contains(&name.as_str()) && !found.contains(&name) {
                    found.push(name);
                }
                None
            });
        }
        found
    };
    let select = used(&mut query.select.iter().filter_map(|item| match item {
        SelectItem::Expr { expr, .. } | SelectItem::StructAll(expr) => Some(expr),
        _ => None,
    }));
    if !select.is_empty() {
        return Err(Error::plan(format!(
            "Pull queries don't support the following columns in SELECT clauses: {}",
            select.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let filter = used(&mut query.selection.iter());
    if !filter.is_empty() {
        return Err(Error::plan(format!(
            "Pull queries don't support the following columns in WHERE clauses: {}",
            filter.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}

/// Whether `expr` calls a table function (`EXPLODE`) anywhere.
fn calls_table_function(expr: &Expr) -> bool {
    let mut found = false;
    super::rewrite::rewrite_in_place(&mut expr.clone(), &mut |x| {
        if let Expr::Function(f) = x
            && crate::runtime::ops::TableFunction::by_name(&f.name.to_string()).is_some()
        {
            found = true;
        }
        None
    });
    found
}

/// ksqlDB's names for unaliased select items (its `ColumnNames.columnAliasGenerator`): a
/// column keeps its name; a struct field access `s->f` is named after the field, `F`, then
/// `F_1`, `F_2`, ... on clashes; anything else is `KSQL_COL_<n>`. Numbers that the source's
/// own column names already use (`F`, `F_1`, `KSQL_COL_3`) are skipped.
pub(crate) struct AliasGenerator {
    /// Per name stem: the next number to try and the numbers taken.
    stems: std::collections::HashMap<String, (u64, std::collections::HashSet<u64>)>,
}

const GENERATED_STEM: &str = "KSQL_COL";

impl AliasGenerator {
    /// A generator avoiding the names of a source's columns.
    pub(crate) fn new<'a>(source_columns: impl Iterator<Item = &'a str>) -> Self {
        let mut stems: std::collections::HashMap<String, (u64, std::collections::HashSet<u64>)> =
            std::collections::HashMap::new();
        for name in source_columns {
            let (stem, n) = split_numbered(name);
            stems.entry(stem).or_default().1.insert(n);
        }
        AliasGenerator { stems }
    }

    /// The name of the unaliased select item `expr`.
    pub(crate) fn name_for(&mut self, expr: &Expr) -> String {
        match expr {
            Expr::Identifier(i) => ident_name(i),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
            Expr::Nested(inner) => self.name_for(inner),
            Expr::BinaryOp {
                op: sqlparser::ast::BinaryOperator::Arrow,
                right,
                ..
            } if matches!(right.as_ref(), Expr::Identifier(_)) => {
                let Expr::Identifier(field) = right.as_ref() else {
                    unreachable!()
                };
                let (stem, _) = split_numbered(&ident_name(field));
                self.next(&stem)
            }
            Expr::CompoundFieldAccess { access_chain, .. }
                if matches!(
                    access_chain.last(),
                    Some(sqlparser::ast::AccessExpr::Dot(Expr::Identifier(_)))
                ) =>
            {
                let Some(sqlparser::ast::AccessExpr::Dot(Expr::Identifier(field))) = access_chain.last() else {
                    unreachable!()
                };
                let (stem, _) = split_numbered(&ident_name(field));
                self.next(&stem)
            }
            _ => self.next_generated(),
        }
    }

    /// The next `KSQL_COL_<n>`.
    pub(crate) fn next_generated(&mut self) -> String {
        self.next(GENERATED_STEM)
    }

    fn next(&mut self, stem: &str) -> String {
        let (next, used) = self.stems.entry(stem.to_string()).or_default();
        let mut n = *next;
        while used.contains(&n) {
            n += 1;
        }
        *next = n + 1;
        if n == 0 && stem != GENERATED_STEM {
            stem.to_string()
        } else {
            format!("{stem}_{n}")
        }
    }
}

/// Splits `NAME_12` into (`NAME`, 12); a name without a numeric suffix has number 0.
fn split_numbered(name: &str) -> (String, u64) {
    if let Some((stem, digits)) = name.rsplit_once('_')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = digits.parse::<u64>()
    {
        return (stem.to_string(), n);
    }
    (name.to_string(), 0)
}

/// The names of the pseudo columns, which user columns may not take.
pub fn is_reserved_column(name: &str) -> bool {
    PSEUDO_COLUMNS.iter().any(|(n, _)| *n == name) || name == "WINDOWSTART" || name == "WINDOWEND"
}
