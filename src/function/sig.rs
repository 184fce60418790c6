//! Signature patterns and the generic built-in function type.
//!
//! Every built-in declares its overloads as [`SignatureDoc`]s whose type texts are small
//! patterns (`VARCHAR`, `ARRAY<T>`, `MAP<K, V>`, `LAMBDA<T, R>`, `ANY`, ...). The same text is
//! shown by `DESCRIBE FUNCTION` and parsed here to bind calls, so the docs cannot drift from
//! what the binder accepts.

use std::collections::HashMap;

use crate::types::{SqlType, Value};

use super::{FunctionDoc, Lambda, ScalarFunction, SignatureDoc};

/// A parsed parameter or return type pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pat {
    /// A concrete primitive type (DECIMAL is handled by [`Pat::AnyDecimal`]).
    Exact(SqlType),
    /// Any DECIMAL precision and scale.
    AnyDecimal,
    /// Any STRUCT.
    AnyStruct,
    /// Any type at all, unbound.
    Any,
    /// A generic type variable (`T`, `K`, `V`, ...), bound on first use.
    Var(String),
    /// `ARRAY<p>`
    Array(Box<Pat>),
    /// `MAP<k, v>`
    Map(Box<Pat>, Box<Pat>),
    /// `LAMBDA<in..., out>`: a lambda argument; when binding, the call passes the type of the
    /// lambda's body, which is matched against `out`.
    Lambda(Vec<Pat>, Box<Pat>),
}

/// Parses a pattern text; `None` when the text is malformed (a bug in a declaration, caught by
/// the registry's tests).
pub(crate) fn parse_pat(text: &str) -> Option<Pat> {
    let (pat, rest) = parse_inner(text.trim())?;
    if rest.trim().is_empty() { Some(pat) } else { None }
}

fn parse_inner(text: &str) -> Option<(Pat, &str)> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(end);
    let word_uc = word.to_ascii_uppercase();
    let simple = |t: SqlType| Some((Pat::Exact(t), rest));
    match word_uc.as_str() {
        "BOOLEAN" => simple(SqlType::Boolean),
        "INT" | "INTEGER" => simple(SqlType::Int),
        "BIGINT" => simple(SqlType::BigInt),
        "DOUBLE" => simple(SqlType::Double),
        "VARCHAR" | "STRING" => simple(SqlType::String),
        "BYTES" => simple(SqlType::Bytes),
        "TIMESTAMP" => simple(SqlType::Timestamp),
        "DATE" => simple(SqlType::Date),
        "TIME" => simple(SqlType::Time),
        // Interval units (`TIMESTAMPADD(SECONDS, ...)`) travel as their upper-case name.
        "INTERVALUNIT" => simple(SqlType::String),
        "DECIMAL" => Some((Pat::AnyDecimal, rest)),
        "STRUCT" => Some((Pat::AnyStruct, rest)),
        "ANY" => Some((Pat::Any, rest)),
        "ARRAY" | "MAP" | "LAMBDA" => {
            let mut rest = rest.trim_start().strip_prefix('<')?;
            let mut parts = Vec::new();
            loop {
                let (p, r) = parse_inner(rest)?;
                parts.push(p);
                let r = r.trim_start();
                if let Some(r) = r.strip_prefix(',') {
                    rest = r;
                } else {
                    rest = r.strip_prefix('>')?;
                    break;
                }
            }
            let pat = match (word_uc.as_str(), parts.len()) {
                ("ARRAY", 1) => Pat::Array(Box::new(parts.pop()?)),
                ("MAP", 2) => {
                    let v = parts.pop()?;
                    Pat::Map(Box::new(parts.pop()?), Box::new(v))
                }
                ("LAMBDA", n) if n >= 2 => {
                    let out = parts.pop()?;
                    Pat::Lambda(parts, Box::new(out))
                }
                _ => return None,
            };
            Some((pat, rest))
        }
        w if !w.is_empty() && w.len() <= 2 && w.chars().all(|c| c.is_ascii_uppercase()) => {
            Some((Pat::Var(w.to_string()), rest))
        }
        _ => None,
    }
}

/// Generic type variables bound while matching one call.
pub(crate) type Bindings = HashMap<String, SqlType>;

/// Matches `ty` against `pat`, binding variables. With `widen`, numeric arguments may be
/// narrower than declared, as ksqlDB's implicit widening allows.
fn match_pat(pat: &Pat, ty: &SqlType, b: &mut Bindings, widen: bool) -> bool {
    match pat {
        Pat::Exact(t) => ty == t || (widen && ty.can_widen_to(t)),
        Pat::AnyDecimal => {
            matches!(ty, SqlType::Decimal { .. }) || (widen && matches!(ty, SqlType::Int | SqlType::BigInt))
        }
        Pat::AnyStruct => matches!(ty, SqlType::Struct(_)),
        Pat::Any => true,
        Pat::Var(name) => match b.get(name) {
            None => {
                b.insert(name.clone(), ty.clone());
                true
            }
            Some(bound) if bound == ty => true,
            Some(bound) => {
                // Two numeric uses of one variable (GREATEST(INT, BIGINT)) meet at their common
                // type, as ksqlDB widens both to the wider overload.
                match SqlType::common(bound, ty) {
                    Some(common) if widen => {
                        b.insert(name.clone(), common);
                        true
                    }
                    _ => unify_nested(bound, ty, widen).is_some_and(|t| {
                        b.insert(name.clone(), t);
                        true
                    }),
                }
            }
        },
        Pat::Array(p) => match ty {
            SqlType::Array(e) => match_pat(p, e, b, widen),
            _ => false,
        },
        Pat::Map(kp, vp) => match ty {
            SqlType::Map(k, v) => match_pat(kp, k, b, widen) && match_pat(vp, v, b, widen),
            _ => false,
        },
        Pat::Lambda(_, out) => match_pat(out, ty, b, widen),
    }
}

/// The common type of two collection types whose element types widen to each other.
fn unify_nested(a: &SqlType, b: &SqlType, widen: bool) -> Option<SqlType> {
    if !widen {
        return None;
    }
    match (a, b) {
        (SqlType::Array(x), SqlType::Array(y)) => Some(SqlType::Array(Box::new(
            SqlType::common(x, y).or_else(|| unify_nested(x, y, widen))?,
        ))),
        (SqlType::Map(xk, xv), SqlType::Map(yk, yv)) => Some(SqlType::Map(
            Box::new(SqlType::common(xk, yk)?),
            Box::new(SqlType::common(xv, yv).or_else(|| unify_nested(xv, yv, widen))?),
        )),
        _ => None,
    }
}

/// Replaces bound variables in `pat`, giving a concrete type.
pub(crate) fn instantiate(pat: &Pat, b: &Bindings) -> Option<SqlType> {
    Some(match pat {
        Pat::Exact(t) => t.clone(),
        Pat::AnyDecimal | Pat::AnyStruct | Pat::Any | Pat::Lambda(..) => return None,
        Pat::Var(n) => b.get(n)?.clone(),
        Pat::Array(p) => SqlType::Array(Box::new(instantiate(p, b)?)),
        Pat::Map(k, v) => SqlType::Map(Box::new(instantiate(k, b)?), Box::new(instantiate(v, b)?)),
    })
}

/// Computes a return type from the argument types where a pattern cannot say it (decimal
/// precision rules and the like).
pub(crate) type RetFn = fn(&[Option<SqlType>]) -> Result<SqlType, String>;

/// The row-wise implementation of a built-in.
pub(crate) type ImplFn = fn(&[Value], &SqlType, &[Lambda<'_>]) -> Result<Value, String>;

/// One overload's binding details beyond its doc.
struct SigExtra {
    params: Vec<Option<Pat>>,
    ret: Option<Pat>,
    ret_fn: Option<RetFn>,
}

/// A built-in scalar function declared with [`func`].
pub(crate) struct Builtin {
    doc: FunctionDoc,
    extras: Vec<SigExtra>,
    imp: ImplFn,
    /// Whether a NULL in any argument makes the result NULL without calling `imp`.
    strict: bool,
}

/// Starts declaring a built-in: name, category, description and implementation.
pub(crate) fn func(name: &'static str, category: &'static str, description: &'static str, imp: ImplFn) -> Builtin {
    Builtin {
        doc: FunctionDoc {
            name,
            category,
            description,
            signatures: Vec::new(),
        },
        extras: Vec::new(),
        imp,
        strict: true,
    }
}

impl Builtin {
    /// Adds an overload with named arguments (`("input", "VARCHAR")`) and a return pattern.
    pub(crate) fn sig(self, args: &[(&'static str, &str)], returns: &str) -> Self {
        self.sig_full(args, returns, false, None, "")
    }

    /// Adds an overload whose last argument may repeat any number of times.
    pub(crate) fn variadic(self, args: &[(&'static str, &str)], returns: &str) -> Self {
        self.sig_full(args, returns, true, None, "")
    }

    /// Adds an overload whose return type is computed by `ret_fn`; `returns` is the doc text.
    pub(crate) fn sig_with(self, args: &[(&'static str, &str)], returns: &str, ret_fn: RetFn) -> Self {
        self.sig_full(args, returns, false, Some(ret_fn), "")
    }

    /// Adds an overload with every detail given.
    pub(crate) fn sig_full(
        mut self,
        args: &[(&'static str, &str)],
        returns: &str,
        variadic: bool,
        ret_fn: Option<RetFn>,
        description: &'static str,
    ) -> Self {
        self.extras.push(SigExtra {
            params: args.iter().map(|(_, t)| parse_pat(t)).collect(),
            ret: parse_pat(returns),
            ret_fn,
        });
        self.doc.signatures.push(SignatureDoc {
            args: args.iter().map(|(n, t)| (*n, t.to_string())).collect(),
            returns: returns.to_string(),
            variadic,
            description,
        });
        self
    }

    /// Lets NULL arguments reach the implementation (COALESCE, CONCAT, ARRAY_CONTAINS, ...).
    pub(crate) fn lenient(mut self) -> Self {
        self.strict = false;
        self
    }

    /// Whether every declared pattern parses (checked by the registry's tests).
    #[cfg(test)]
    pub(crate) fn patterns_ok(&self) -> bool {
        self.extras
            .iter()
            .all(|e| e.params.iter().all(Option::is_some) && (e.ret.is_some() || e.ret_fn.is_some()))
    }

    /// The parameter patterns of overload `i` expanded to `n` arguments, or `None` when the
    /// overload cannot take `n` arguments.
    fn expand(&self, i: usize, n: usize) -> Option<Vec<&Pat>> {
        let extra = &self.extras[i];
        let variadic = self.doc.signatures[i].variadic;
        let params: Vec<&Pat> = extra.params.iter().map(|p| p.as_ref()).collect::<Option<_>>()?;
        if variadic {
            let fixed = params.len().checked_sub(1)?;
            if n < fixed {
                return None;
            }
            let last = params[fixed];
            Some((0..n).map(|j| if j < fixed { params[j] } else { last }).collect())
        } else if params.len() == n {
            Some(params)
        } else {
            None
        }
    }

    /// Finds the first overload accepting `args`, trying exact matches before widening ones.
    fn resolve(&self, args: &[Option<SqlType>]) -> Option<(usize, Bindings)> {
        for widen in [false, true] {
            for i in 0..self.extras.len() {
                let Some(params) = self.expand(i, args.len()) else {
                    continue;
                };
                let mut b = Bindings::new();
                // Bind plain arguments before lambdas, whose input types come from them.
                let ok = params
                    .iter()
                    .zip(args)
                    .filter(|(p, _)| !matches!(p, Pat::Lambda(..)))
                    .chain(params.iter().zip(args).filter(|(p, _)| matches!(p, Pat::Lambda(..))))
                    .all(|(p, a)| match a {
                        None => true,
                        Some(t) => match_pat(p, t, &mut b, widen),
                    });
                if ok {
                    return Some((i, b));
                }
            }
        }
        None
    }

    fn no_match(&self, args: &[Option<SqlType>]) -> String {
        let given: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().map_or("null".to_string(), |t| t.to_string()))
            .collect();
        let alternatives: Vec<String> = self
            .doc
            .signatures
            .iter()
            .map(|s| {
                let mut parts: Vec<String> = s.args.iter().map(|(_, t)| t.clone()).collect();
                if s.variadic
                    && let Some(last) = parts.last_mut()
                {
                    last.push_str("...");
                }
                format!("{}({})", self.doc.name, parts.join(", "))
            })
            .collect();
        format!(
            "Function '{}' does not accept parameters ({}). Valid alternatives are: {}",
            super::display_name(self.doc.name),
            given.join(", "),
            alternatives.join(", ")
        )
    }
}

impl ScalarFunction for Builtin {
    fn doc(&self) -> &FunctionDoc {
        &self.doc
    }

    fn return_type(&self, args: &[Option<SqlType>]) -> Result<SqlType, String> {
        let (i, b) = self.resolve(args).ok_or_else(|| self.no_match(args))?;
        let extra = &self.extras[i];
        if let Some(f) = extra.ret_fn {
            return f(args);
        }
        extra.ret.as_ref().and_then(|p| instantiate(p, &b)).ok_or_else(|| {
            format!(
                "Cannot infer the return type of {} from NULL arguments; cast them to a type",
                self.doc.name
            )
        })
    }

    fn lambda_params(&self, args: &[Option<SqlType>], lambda_arg: usize) -> Option<Vec<SqlType>> {
        let (i, b) = self.resolve(args)?;
        let params = self.expand(i, args.len())?;
        match params.get(lambda_arg)? {
            Pat::Lambda(inputs, _) => inputs.iter().map(|p| instantiate(p, &b)).collect(),
            _ => None,
        }
    }

    fn invoke(&self, args: &[Value], ret: &SqlType, lambdas: &[Lambda<'_>]) -> Result<Value, String> {
        if self.strict && args.iter().any(Value::is_null) && lambdas.is_empty() {
            return Ok(Value::Null);
        }
        (self.imp)(args, ret, lambdas).map(|v| conform(v, ret))
    }
}

/// Converts a numeric result to the declared return type: an implementation may compute on the
/// argument's own variant (INT passed where BIGINT is declared) and leave the widening to here.
pub(crate) fn conform(v: Value, ret: &SqlType) -> Value {
    match (v, ret) {
        (Value::Int(i), SqlType::BigInt) => Value::BigInt(i as i64),
        (Value::Int(i), SqlType::Double) => Value::Double(i as f64),
        (Value::BigInt(i), SqlType::Double) => Value::Double(i as f64),
        (v @ Value::Decimal(..), SqlType::Double) => Value::Double(v.as_f64().unwrap_or(f64::NAN)),
        (Value::Int(i), SqlType::Decimal { scale, .. }) => {
            Value::decimal_rescale(i as i128, 0, *scale).map_or(Value::Null, |u| Value::Decimal(u, *scale))
        }
        (Value::BigInt(i), SqlType::Decimal { scale, .. }) => {
            Value::decimal_rescale(i as i128, 0, *scale).map_or(Value::Null, |u| Value::Decimal(u, *scale))
        }
        (Value::Decimal(u, s), SqlType::Decimal { scale, .. }) if s != *scale => {
            Value::decimal_rescale(u, s, *scale).map_or(Value::Null, |u| Value::Decimal(u, *scale))
        }
        (Value::Array(items), SqlType::Array(t)) => Value::Array(items.into_iter().map(|v| conform(v, t)).collect()),
        (Value::Map(entries), SqlType::Map(kt, vt)) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (conform(k, kt), conform(v, vt)))
                .collect(),
        ),
        (v, _) => v,
    }
}

/// Argument accessors used by the implementations; each says what it expected on a mismatch
/// instead of panicking, since a planner bug must not bring a query down.
pub(crate) mod arg {
    use crate::types::Value;

    /// The argument at `i`, or NULL when absent.
    pub(crate) fn get(args: &[Value], i: usize) -> &Value {
        args.get(i).unwrap_or(&Value::Null)
    }

    /// A STRING argument (`None` for NULL).
    pub(crate) fn str(args: &[Value], i: usize) -> Result<Option<&str>, String> {
        match get(args, i) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(format!("expected a STRING argument, got {other}")),
        }
    }

    /// An integral argument (INT, BIGINT or TIMESTAMP millis) as i64 (`None` for NULL).
    pub(crate) fn int(args: &[Value], i: usize) -> Result<Option<i64>, String> {
        match get(args, i) {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v as i64)),
            Value::BigInt(v) | Value::Timestamp(v) => Ok(Some(*v)),
            other => Err(format!("expected an integer argument, got {other}")),
        }
    }

    /// A numeric argument as f64 (`None` for NULL).
    pub(crate) fn num(args: &[Value], i: usize) -> Result<Option<f64>, String> {
        match get(args, i) {
            Value::Null => Ok(None),
            v => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("expected a numeric argument, got {v}")),
        }
    }

    /// An ARRAY argument (`None` for NULL).
    pub(crate) fn array(args: &[Value], i: usize) -> Result<Option<&[Value]>, String> {
        match get(args, i) {
            Value::Null => Ok(None),
            Value::Array(items) => Ok(Some(items)),
            other => Err(format!("expected an ARRAY argument, got {other}")),
        }
    }

    /// A MAP argument (`None` for NULL).
    pub(crate) fn map(args: &[Value], i: usize) -> Result<Option<&[(Value, Value)]>, String> {
        match get(args, i) {
            Value::Null => Ok(None),
            Value::Map(entries) => Ok(Some(entries)),
            other => Err(format!("expected a MAP argument, got {other}")),
        }
    }

    /// A BYTES argument (`None` for NULL).
    pub(crate) fn bytes(args: &[Value], i: usize) -> Result<Option<&[u8]>, String> {
        match get(args, i) {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b)),
            other => Err(format!("expected a BYTES argument, got {other}")),
        }
    }

    /// Calls lambda `i` of the call.
    pub(crate) fn call(lambdas: &[super::Lambda<'_>], i: usize, args: &[Value]) -> Result<Value, String> {
        let f = lambdas
            .get(i)
            .ok_or_else(|| format!("missing lambda argument {}", i + 1))?;
        f(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> SqlType {
        instantiate(&parse_pat(text).unwrap(), &Bindings::new()).unwrap()
    }

    #[test]
    fn patterns_parse() {
        assert_eq!(parse_pat("varchar"), Some(Pat::Exact(SqlType::String)));
        assert_eq!(
            parse_pat("MAP<K, ARRAY<V>>"),
            Some(Pat::Map(
                Box::new(Pat::Var("K".into())),
                Box::new(Pat::Array(Box::new(Pat::Var("V".into()))))
            ))
        );
        assert!(matches!(parse_pat("LAMBDA<S, T, S>"), Some(Pat::Lambda(v, _)) if v.len() == 2));
        assert_eq!(parse_pat("ARRAY<"), None);
        assert_eq!(parse_pat("FOO"), None);
        assert_eq!(t("ARRAY<BIGINT>"), SqlType::Array(Box::new(SqlType::BigInt)));
    }

    #[test]
    fn binds_generics_and_widens() {
        let f = func("F", "OTHER", "", |_, _, _| Ok(Value::Null))
            .sig(&[("a", "ARRAY<T>"), ("b", "T")], "T")
            .sig(&[("x", "DOUBLE")], "DOUBLE");
        let arr = Some(SqlType::Array(Box::new(SqlType::Int)));
        assert_eq!(f.return_type(&[arr.clone(), Some(SqlType::Int)]), Ok(SqlType::Int));
        assert_eq!(f.return_type(&[arr, Some(SqlType::BigInt)]), Ok(SqlType::BigInt));
        assert_eq!(f.return_type(&[Some(SqlType::Int)]), Ok(SqlType::Double));
        let err = f.return_type(&[Some(SqlType::String)]).unwrap_err();
        assert_eq!(
            err,
            "Function 'f' does not accept parameters (STRING). Valid alternatives are: F(ARRAY<T>, T), F(DOUBLE)"
        );
        assert!(f.return_type(&[None, None]).is_err());
    }

    #[test]
    fn conform_widens_results() {
        assert_eq!(conform(Value::Int(3), &SqlType::BigInt), Value::BigInt(3));
        assert_eq!(
            conform(Value::Int(3), &SqlType::Decimal { precision: 5, scale: 2 }),
            Value::Decimal(300, 2)
        );
    }
}
