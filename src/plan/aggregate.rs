//! Planning `GROUP BY`: grouping keys, aggregate calls, the projection over them, `HAVING`,
//! and whether the input must be repartitioned by the new key.
//!
//! The plan is Source → [WHERE] → a projection to (grouping keys, aggregate arguments) →
//! Aggregate (one state per key, in a store) → a projection over (keys, aggregate results)
//! → [HAVING, as a table filter]. Select expressions and `HAVING` are rewritten so that each
//! aggregate call reads `KSQL_AGG_VARIABLE_<n>` and each grouping expression reads
//! `KSQL_GROUPBY_<n>`; a column left over afterwards is one that is neither grouped nor
//! aggregated, which is an error.

use std::sync::Arc;

use sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident as SqlIdent};

use super::binder::{Binder, Scope, ScopeColumn, is_null_literal};
use super::catalog::{Catalog, SourceDesc};
use super::logical::{AggregateCall, LogicalPlan};
use super::query::{AliasGenerator, QueryPlan, QueryPurpose, is_reserved_column};
use super::rewrite::rewrite_in_place;
use crate::error::{Error, Result};
use crate::function::FunctionRegistry;
use crate::runtime::batch::BatchSchema;
use crate::runtime::expr::{PhysicalExpr, RowCtx, eval_value};
use crate::sql::ExprSql;
use crate::sql::ast::{Query, SelectItem, SourceKind};
use crate::types::{Column, ColumnKind, SqlType};

const GROUP_PREFIX: &str = "KSQL_GROUPBY_";
const AGG_PREFIX: &str = "KSQL_AGG_VARIABLE_";
/// The key of the one group of an aggregate without GROUP BY.
const GLOBAL_GROUP: &str = "__runnel_global_group";

/// Plans an aggregating query. `root` is the source with its `WHERE` already applied;
/// `scope` resolves source columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_aggregate(
    query: &Query,
    source: Arc<SourceDesc>,
    root: LogicalPlan,
    scope: &Scope,
    catalog: &Catalog,
    functions: &FunctionRegistry,
    purpose: QueryPurpose,
    sink_name: &str,
) -> Result<QueryPlan> {
    let mut binder = Binder::new(scope, functions, catalog);
    binder.set_clause("GROUP BY");
    let on_table = source.kind == SourceKind::Table;

    // Grouping keys, bound on the source.
    let mut keys: Vec<PhysicalExpr> = Vec::new();
    for g in &query.group_by {
        if contains_aggregate(g, functions) {
            return Err(Error::plan(format!(
                "GROUP BY does not support aggregate functions: {} is an aggregate function.",
                first_aggregate_name(g, functions).unwrap_or_default()
            )));
        }
        let k = binder.bind(g)?;
        if is_null_literal(&k) {
            return Err(Error::plan(
                "GROUP BY NULL is not allowed: group by a column or an expression",
            ));
        }
        let text = k.to_string();
        if keys.iter().any(|earlier| earlier.to_string() == text) {
            return Err(Error::plan(format!("Duplicate GROUP BY expression: {}", ExprSql(g))));
        }
        keys.push(k);
    }
    // Without GROUP BY (a push query's global aggregate) every row is in one group: a
    // constant key sends them all to one partition and one state.
    let global = keys.is_empty();
    if global {
        keys.push(PhysicalExpr::literal(
            crate::types::Value::String(GLOBAL_GROUP.into()),
            SqlType::String,
        ));
    }
    let key_texts: Vec<String> = keys.iter().map(|k| k.to_string()).collect();

    // Aggregate calls of the select list and HAVING, replaced by placeholders.
    let mut calls: Vec<(String, Expr)> = Vec::new();
    let mut nested: Option<String> = None;
    let mut replace_aggregates = |e: &mut Expr| {
        rewrite_in_place(e, &mut |x| {
            let Expr::Function(f) = x else { return None };
            if !functions.is_aggregate(&f.name.to_string()) {
                return None;
            }
            let text = ExprSql(x).to_string();
            if nested.is_none() && function_args(f).iter().any(|a| contains_aggregate(a, functions)) {
                nested = Some(text.clone());
            }
            let n = match calls.iter().position(|(t, _)| *t == text) {
                Some(n) => n,
                None => {
                    calls.push((text, x.clone()));
                    calls.len() - 1
                }
            };
            Some(Expr::Identifier(SqlIdent::new(format!("{AGG_PREFIX}{n}"))))
        })
    };
    let mut items: Vec<(Option<String>, Expr, Expr)> = Vec::new(); // (alias, original, rewritten)
    for item in &query.select {
        match item {
            SelectItem::Expr { expr, alias } => {
                let mut rewritten = expr.clone();
                replace_aggregates(&mut rewritten);
                items.push((alias.as_ref().map(|a| a.value.clone()), expr.clone(), rewritten));
            }
            // `*` stands for every key and value column, each then grouped or an error.
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                for c in &source.schema.columns {
                    let ident = Expr::Identifier(SqlIdent::with_quote('`', c.name.clone()));
                    items.push((Some(c.name.clone()), ident.clone(), ident));
                }
            }
            SelectItem::StructAll(_) => {
                return Err(Error::plan(
                    "STRUCT field wildcards (col->*) are not allowed with GROUP BY: name the fields",
                ));
            }
        }
    }
    let mut having = query.having.clone();
    if let Some(h) = &mut having {
        replace_aggregates(h);
    }
    if let Some(call) = nested {
        return Err(Error::plan(format!("Aggregate functions can not be nested: {call}")));
    }
    if calls.is_empty() {
        // An unknown function is the better error: it may have been meant as the aggregate.
        let mut b = Binder::new(scope, functions, catalog);
        for (_, original, _) in &items {
            if let Err(e) = b.bind(original)
                && e.message.contains("Can't find any functions")
            {
                return Err(e);
            }
        }
        return Err(Error::plan(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
        ));
    }

    // Bind each aggregate: column arguments on the source, literal parameters evaluated now.
    let mut pre_exprs: Vec<PhysicalExpr> = keys.clone();
    let mut aggregates = Vec::new();
    let mut stream_only: Vec<String> = Vec::new();
    for (text, call) in &calls {
        let Expr::Function(f) = call else { continue };
        let name = f.name.to_string().to_uppercase();
        let Some(func) = functions.aggregate(&name) else {
            return Err(Error::plan(format!("Can't find any functions with the name '{name}'")));
        };
        let args = function_args(f);
        let columns = func.column_args(args.len()).min(args.len());
        let mut arg_indices = Vec::new();
        let mut arg_types = Vec::new();
        for a in &args[..columns] {
            let bound = binder.bind(a)?;
            arg_types.push(if is_null_literal(&bound) {
                None
            } else {
                Some(bound.ty())
            });
            arg_indices.push(pre_exprs.len());
            pre_exprs.push(bound);
        }
        let mut params = Vec::new();
        for (i, p) in args[columns..].iter().enumerate() {
            let bound = binder.bind(p)?;
            let mut env = Vec::new();
            let value = eval_value(&bound, &RowCtx { columns: &[], row: 0 }, &mut env).map_err(|_| {
                Error::plan(format!(
                    "Parameter {} passed to function {name} must be a literal constant, but was expression: '{}'",
                    columns + i + 1,
                    ExprSql(p)
                ))
            })?;
            params.push(value);
        }
        let bound = func.bind(&arg_types, &params).map_err(Error::plan)?;
        if on_table && !bound.imp.supports_undo() && !stream_only.contains(&name) {
            stream_only.push(name.clone());
        }
        aggregates.push(AggregateCall {
            text: text.clone(),
            bound: Arc::new(bound),
            args: arg_indices,
        });
    }

    if !stream_only.is_empty() {
        return Err(Error::plan(format!(
            "The aggregation functions {} cannot be applied to a table source, only to a stream source.",
            and_list(&stream_only)
        )));
    }

    // The input of the aggregation: keys then arguments, re-keyed by the grouping keys.
    let mut pre_cols: Vec<Column> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Column {
            name: format!("{GROUP_PREFIX}{i}"),
            ty: k.ty(),
            kind: ColumnKind::Key,
        })
        .collect();
    for (i, e) in pre_exprs.iter().enumerate().skip(keys.len()) {
        pre_cols.push(Column {
            name: format!("KSQL_INTERNAL_COL_{i}"),
            ty: e.ty(),
            kind: ColumnKind::Value,
        });
    }
    let source_keys: Vec<String> = source
        .schema
        .key_columns()
        .enumerate()
        .map(|(i, c)| PhysicalExpr::column(i, c.name.clone(), c.ty.clone()).to_string())
        .collect();
    let repartition = on_table || key_texts != source_keys;
    let prepared = LogicalPlan::Project {
        input: Box::new(root),
        exprs: pre_exprs,
        schema: BatchSchema::with_pseudo_columns(pre_cols),
        rekeyed: true,
    };
    let mut agg_cols: Vec<Column> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Column {
            name: format!("{GROUP_PREFIX}{i}"),
            ty: k.ty(),
            kind: ColumnKind::Key,
        })
        .collect();
    for (i, a) in aggregates.iter().enumerate() {
        agg_cols.push(Column {
            name: format!("{AGG_PREFIX}{i}"),
            ty: a.bound.return_type.clone(),
            kind: ColumnKind::Value,
        });
    }
    let agg_schema = BatchSchema::with_pseudo_columns(agg_cols);
    let aggregate = LogicalPlan::Aggregate {
        input: Box::new(prepared),
        key_count: keys.len(),
        aggregates,
        schema: agg_schema.clone(),
        repartition,
        on_table,
    };

    // The projection and HAVING over (keys, aggregate results).
    let post_scope = Scope {
        columns: agg_schema
            .columns
            .iter()
            .enumerate()
            .map(|(index, c)| ScopeColumn {
                qualifier: None,
                name: c.name.clone(),
                ty: c.ty.clone(),
                index,
            })
            .collect(),
    };
    let mut post_binder = Binder::new(&post_scope, functions, catalog);
    let source_binder_scope = scope.clone();
    let replace_keys = |e: &mut Expr| {
        rewrite_in_place(e, &mut |x| {
            if matches!(x, Expr::Identifier(i) if i.value.starts_with(AGG_PREFIX)) {
                return None;
            }
            let mut b = Binder::new(&source_binder_scope, functions, catalog);
            let bound = b.bind(x).ok()?;
            let text = bound.to_string();
            let n = key_texts.iter().position(|k| *k == text)?;
            Some(Expr::Identifier(SqlIdent::new(format!("{GROUP_PREFIX}{n}"))))
        })
    };
    let mut out_cols: Vec<Column> = Vec::new();
    let mut out_exprs: Vec<PhysicalExpr> = Vec::new();
    let mut key_slots: Vec<Option<(String, PhysicalExpr)>> = vec![None; keys.len()];
    let mut values: Vec<(String, PhysicalExpr)> = Vec::new();
    let mut aliases = AliasGenerator::new(source.schema.columns.iter().map(|c| c.name.as_str()));
    let mut ungrouped: Vec<String> = Vec::new();
    for (alias, original, rewritten) in &mut items {
        replace_keys(rewritten);
        let bound = match post_binder.bind(rewritten) {
            Ok(bound) => bound,
            Err(e) if is_unresolved(&e) => {
                ungrouped.push(source_text(original, scope, functions, catalog));
                continue;
            }
            Err(e) => return Err(e),
        };
        let name = match alias {
            Some(a) => a.clone(),
            None => aliases.name_for(original),
        };
        if purpose == QueryPurpose::Persistent && is_reserved_column(&name) {
            return Err(Error::plan(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
        // A select item that is exactly a grouping key names that key column.
        let key_index = match &bound {
            PhysicalExpr::Column { index, .. } if *index < keys.len() => Some(*index),
            _ => None,
        };
        if let Some(i) = key_index.filter(|_| purpose == QueryPurpose::Persistent) {
            if let Some((first, _)) = &key_slots[i] {
                return Err(Error::plan(format!(
                    "The projection contains a key column more than once: `{first}` and `{name}`."
                )));
            }
            key_slots[i] = Some((name, bound));
            continue;
        }
        values.push((name, bound));
    }
    if !ungrouped.is_empty() {
        return Err(Error::plan(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY \
             or remove them from the SELECT.",
            ungrouped.join(", ")
        )));
    }
    if purpose == QueryPurpose::Persistent {
        if global {
            return Err(Error::plan(format!(
                "The statement does not support aggregate function [{}] without a GROUP BY clause.",
                calls.first().map(|(text, _)| text.as_str()).unwrap_or_default()
            )));
        }
        let missing: Vec<String> = key_slots
            .iter()
            .zip(&key_texts)
            .filter(|(slot, _)| slot.is_none())
            .map(|(_, text)| text.clone())
            .collect();
        if !missing.is_empty() {
            let noun = if missing.len() == 1 {
                "expression"
            } else {
                "expressions"
            };
            return Err(Error::plan(format!(
                "The query used to build `{sink_name}` must include the grouping {noun} {} in its projection (eg, SELECT {}...).",
                and_list(&missing),
                missing.join(", ")
            )));
        }
        for (name, e) in key_slots.into_iter().flatten() {
            out_cols.push(Column {
                name,
                ty: e.ty(),
                kind: ColumnKind::Key,
            });
            out_exprs.push(e);
        }
        if values.is_empty() {
            return Err(Error::plan("The projection contains no value columns."));
        }
    }
    for (name, e) in values {
        out_cols.push(Column {
            name,
            ty: e.ty(),
            kind: ColumnKind::Value,
        });
        out_exprs.push(e);
    }
    for (i, c) in out_cols.iter().enumerate() {
        if out_cols[..i].iter().any(|o| o.name == c.name) {
            return Err(Error::plan(format!(
                "Duplicate value columns found in schema: `{}` {}",
                c.name, c.ty
            )));
        }
    }
    let mut plan = LogicalPlan::Project {
        input: Box::new(aggregate),
        exprs: out_exprs,
        schema: BatchSchema::with_pseudo_columns(out_cols),
        rekeyed: false,
    };
    if let Some(mut h) = having {
        replace_keys(&mut h);
        let predicate = match post_binder.bind(&h) {
            Ok(p) => p,
            Err(e) if is_unresolved(&e) => {
                return Err(Error::plan(format!(
                    "Non-aggregate HAVING expression not part of GROUP BY: {}",
                    column_names(&h).join(", ")
                )));
            }
            Err(e) => return Err(e),
        };
        if predicate.ty() != SqlType::Boolean {
            return Err(Error::plan(format!(
                "Type error in HAVING expression: Should evaluate to boolean but is {predicate} ({}) instead.",
                predicate.ty()
            )));
        }
        // HAVING reads the aggregation's columns, so it filters before the final projection.
        plan = match plan {
            LogicalPlan::Project {
                input,
                exprs,
                schema,
                rekeyed,
            } => LogicalPlan::Project {
                input: Box::new(LogicalPlan::Filter { input, predicate }),
                exprs,
                schema,
                rekeyed,
            },
            other => other,
        };
    }
    Ok(QueryPlan {
        root: plan,
        result_kind: SourceKind::Table,
        source,
        limit: query.limit,
        emit: query.emit,
    })
}

/// Whether binding failed on a column that neither is grouped nor sits inside an aggregate.
fn is_unresolved(e: &Error) -> bool {
    e.message.contains("cannot be resolved")
}

/// A select item as ksqlDB prints it in errors: bound on the source (columns unqualified,
/// operations parenthesised), or as written when it does not bind.
fn source_text(e: &Expr, scope: &Scope, functions: &FunctionRegistry, catalog: &Catalog) -> String {
    match Binder::new(scope, functions, catalog).bind(e) {
        Ok(bound) => bound.to_string(),
        Err(_) => ExprSql(e).to_string(),
    }
}

/// The column names an expression still reads, in order, once each.
fn column_names(e: &Expr) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut copy = e.clone();
    rewrite_in_place(&mut copy, &mut |x| {
        let name = match x {
            Expr::Identifier(i) => column_name(i),
            Expr::CompoundIdentifier(parts) => parts.last().map(column_name).unwrap_or_default(),
            _ => return None,
        };
        if !name.is_empty()
            && !name.starts_with(GROUP_PREFIX)
            && !name.starts_with(AGG_PREFIX)
            && !names.contains(&name)
        {
            names.push(name);
        }
        None
    });
    names
}

/// A column's name as the catalog stores it: unquoted names upper-cased.
fn column_name(i: &SqlIdent) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_uppercase()
    }
}

/// `A`, `A and B`, `A, B and C`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The plain arguments of a function call.
fn function_args(f: &sqlparser::ast::Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn contains_aggregate(e: &Expr, functions: &FunctionRegistry) -> bool {
    first_aggregate_name(e, functions).is_some()
}

fn first_aggregate_name(e: &Expr, functions: &FunctionRegistry) -> Option<String> {
    let mut found = None;
    let mut copy = e.clone();
    rewrite_in_place(&mut copy, &mut |x| {
        if let Expr::Function(f) = x {
            let name = f.name.to_string().to_uppercase();
            if found.is_none() && functions.is_aggregate(&name) {
                found = Some(name);
            }
        }
        None
    });
    found
}
