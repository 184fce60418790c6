//! ksqlDB column types: parsed from sqlparser tokens into [`SqlType`], and converted to and
//! from sqlparser's [`DataType`] (which is what `CAST(x AS type)` carries inside an `Expr`).

use std::collections::BTreeMap;

use sqlparser::ast::{
    ArrayElemTypeDef, DataType, ExactNumberInfo, Ident as SqlIdent, MapBracketKind, StructBracketKind, StructField,
    TimezoneInfo,
};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::tokens::{error_at, expect_token, unexpected};
use crate::types::SqlType;

/// Types registered with `CREATE TYPE`, by upper-cased (or quoted) name.
pub type TypeRegistry = BTreeMap<String, SqlType>;

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_TYPE_DEPTH: usize = 64;

const EXPECTED_TYPE: &str = "a type (BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL, STRING, BYTES, TIMESTAMP, DATE, TIME, ARRAY, MAP, STRUCT or a custom type)";

/// Parses one type at the parser's position. `>>` closing two generics is split here,
/// because the tokenizer reads it as one shift operator.
pub(crate) fn parse_sql_type(p: &mut Parser, types: &TypeRegistry) -> Result<SqlType, ParserError> {
    let mut tp = TypeParser { pending_gt: 0, types };
    let t = tp.parse(p, 0)?;
    if tp.pending_gt > 0 {
        return Err(unexpected(p.get_current_token(), "the end of the type"));
    }
    Ok(t)
}

struct TypeParser<'t> {
    /// `>` still owed from a `>>` token that closed an inner generic.
    pending_gt: usize,
    types: &'t TypeRegistry,
}

impl TypeParser<'_> {
    fn parse(&mut self, p: &mut Parser, depth: usize) -> Result<SqlType, ParserError> {
        let tok = p.next_token();
        if depth > MAX_TYPE_DEPTH {
            return Err(error_at(&tok, "type nests too deeply; expected at most 64 levels"));
        }
        let Token::Word(w) = &tok.token else {
            return Err(unexpected(&tok, EXPECTED_TYPE));
        };
        if w.quote_style.is_some() {
            return self.custom(&tok, w.value.clone());
        }
        let name = w.value.to_ascii_uppercase();
        let primitive = match name.as_str() {
            "BOOLEAN" => Some(SqlType::Boolean),
            "INT" | "INTEGER" => Some(SqlType::Int),
            "BIGINT" => Some(SqlType::BigInt),
            "DOUBLE" => Some(SqlType::Double),
            "STRING" | "VARCHAR" => Some(SqlType::String),
            "BYTES" => Some(SqlType::Bytes),
            "TIMESTAMP" => Some(SqlType::Timestamp),
            "DATE" => Some(SqlType::Date),
            "TIME" => Some(SqlType::Time),
            _ => None,
        };
        if let Some(t) = primitive {
            skip_type_parameters(p)?;
            return Ok(t);
        }
        Ok(match name.as_str() {
            "DECIMAL" => self.decimal(p)?,
            "ARRAY" => {
                self.open(p)?;
                let element = self.parse(p, depth + 1)?;
                self.close(p)?;
                SqlType::Array(Box::new(element))
            }
            "MAP" => {
                self.open(p)?;
                let key = self.parse(p, depth + 1)?;
                self.no_pending(p)?;
                expect_token(p, &Token::Comma)?;
                let value = self.parse(p, depth + 1)?;
                self.close(p)?;
                SqlType::Map(Box::new(key), Box::new(value))
            }
            "STRUCT" => self.structure(p, depth)?,
            _ => return self.custom(&tok, name),
        })
    }

    fn custom(&self, tok: &sqlparser::tokenizer::TokenWithSpan, name: String) -> Result<SqlType, ParserError> {
        self.types
            .get(&name)
            .cloned()
            .ok_or_else(|| error_at(tok, format!("unknown type '{name}'; expected {EXPECTED_TYPE}")))
    }

    fn decimal(&mut self, p: &mut Parser) -> Result<SqlType, ParserError> {
        expect_token(p, &Token::LParen)?;
        let ptok = p.peek_token();
        let precision = super::tokens::parse_u64(p, "a precision")?;
        expect_token(p, &Token::Comma)?;
        let stok = p.peek_token();
        let scale = super::tokens::parse_u64(p, "a scale")?;
        expect_token(p, &Token::RParen)?;
        // Wider than 38 digits parses (ksqlDB reports it later, when the type is used).
        if !(1..=u8::MAX as u64).contains(&precision) {
            return Err(error_at(
                &ptok,
                format!("DECIMAL precision {precision} is out of range; expected 1 to 255"),
            ));
        }
        if scale > precision || scale > i8::MAX as u64 {
            return Err(error_at(
                &stok,
                format!("DECIMAL scale {scale} is larger than its precision; expected 0 to {precision}"),
            ));
        }
        // Both fit: checked against u8 and i8 above.
        Ok(SqlType::Decimal {
            precision: precision as u8,
            scale: scale as i8,
        })
    }

    fn structure(&mut self, p: &mut Parser, depth: usize) -> Result<SqlType, ParserError> {
        // `STRUCT<>` reaches us as the single token `<>`.
        if p.peek_token_ref().token == Token::Neq {
            p.next_token();
            return Ok(SqlType::Struct(Vec::new()));
        }
        self.open(p)?;
        let mut fields = Vec::new();
        if self.try_close(p) {
            return Ok(SqlType::Struct(fields));
        }
        loop {
            let tok = p.next_token();
            let name = match &tok.token {
                Token::Word(w) if w.quote_style.is_some() => w.value.clone(),
                Token::Word(w) => w.value.to_ascii_uppercase(),
                _ => return Err(unexpected(&tok, "a field name")),
            };
            let t = self.parse(p, depth + 1)?;
            fields.push((name, t));
            if self.try_close(p) {
                return Ok(SqlType::Struct(fields));
            }
            expect_token(p, &Token::Comma).map_err(|_| unexpected(p.peek_token_ref(), "',' or '>'"))?;
        }
    }

    fn open(&mut self, p: &mut Parser) -> Result<(), ParserError> {
        expect_token(p, &Token::Lt).map(|_| ())
    }

    fn close(&mut self, p: &mut Parser) -> Result<(), ParserError> {
        if self.try_close(p) {
            Ok(())
        } else {
            Err(unexpected(p.peek_token_ref(), "'>'"))
        }
    }

    fn try_close(&mut self, p: &mut Parser) -> bool {
        if self.pending_gt > 0 {
            self.pending_gt -= 1;
            return true;
        }
        match p.peek_token_ref().token {
            Token::Gt => {
                p.next_token();
                true
            }
            Token::ShiftRight => {
                p.next_token();
                self.pending_gt += 1;
                true
            }
            _ => false,
        }
    }

    /// After an inner type, a `>` owed from `>>` can only close the enclosing generic.
    fn no_pending(&self, p: &Parser) -> Result<(), ParserError> {
        if self.pending_gt > 0 {
            Err(unexpected(p.get_current_token(), "','"))
        } else {
            Ok(())
        }
    }
}

/// ksqlDB accepts (and ignores) parameters after a primitive type, as in `VARCHAR(10)`;
/// each is a whole number or the word STRING.
fn skip_type_parameters(p: &mut Parser) -> Result<(), ParserError> {
    if !p.consume_token(&Token::LParen) {
        return Ok(());
    }
    loop {
        let tok = p.next_token();
        match &tok.token {
            Token::Number(..) => {}
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("STRING") => {}
            _ => return Err(unexpected(&tok, "STRING or a whole number")),
        }
        if p.consume_token(&Token::RParen) {
            return Ok(());
        }
        expect_token(p, &Token::Comma).map_err(|_| unexpected(p.peek_token_ref(), "',' or ')'"))?;
    }
}

/// The sqlparser [`DataType`] a `CAST` target carries for `t`.
pub fn to_data_type(t: &SqlType) -> DataType {
    match t {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Int => DataType::Int(None),
        SqlType::BigInt => DataType::BigInt(None),
        SqlType::Double => DataType::Double(ExactNumberInfo::None),
        SqlType::Decimal { precision, scale } => {
            DataType::Decimal(ExactNumberInfo::PrecisionAndScale(*precision as u64, *scale as i64))
        }
        SqlType::String => DataType::String(None),
        SqlType::Bytes => DataType::Bytes(None),
        SqlType::Timestamp => DataType::Timestamp(None, TimezoneInfo::None),
        SqlType::Date => DataType::Date,
        SqlType::Time => DataType::Time(None, TimezoneInfo::None),
        SqlType::Array(e) => DataType::Array(ArrayElemTypeDef::AngleBracket(Box::new(to_data_type(e)))),
        SqlType::Map(k, v) => DataType::Map(
            Box::new(to_data_type(k)),
            Box::new(to_data_type(v)),
            MapBracketKind::AngleBrackets,
        ),
        SqlType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|(name, t)| StructField {
                    field_name: Some(SqlIdent::with_quote('`', name.clone())),
                    field_type: to_data_type(t),
                    options: None,
                })
                .collect(),
            StructBracketKind::AngleBrackets,
        ),
    }
}

/// The [`SqlType`] of a `CAST` target produced by this parser; `None` for a sqlparser
/// type this parser never produces.
pub fn from_data_type(t: &DataType) -> Option<SqlType> {
    Some(match t {
        DataType::Boolean => SqlType::Boolean,
        DataType::Int(None) | DataType::Integer(None) => SqlType::Int,
        DataType::BigInt(None) => SqlType::BigInt,
        DataType::Double(ExactNumberInfo::None) => SqlType::Double,
        DataType::Decimal(ExactNumberInfo::PrecisionAndScale(p, s)) => SqlType::Decimal {
            precision: u8::try_from(*p).ok()?,
            scale: i8::try_from(*s).ok()?,
        },
        DataType::String(None) | DataType::Varchar(None) => SqlType::String,
        DataType::Bytes(None) => SqlType::Bytes,
        DataType::Timestamp(None, TimezoneInfo::None) => SqlType::Timestamp,
        DataType::Date => SqlType::Date,
        DataType::Time(None, TimezoneInfo::None) => SqlType::Time,
        DataType::Array(ArrayElemTypeDef::AngleBracket(e)) => SqlType::Array(Box::new(from_data_type(e)?)),
        DataType::Map(k, v, _) => SqlType::Map(Box::new(from_data_type(k)?), Box::new(from_data_type(v)?)),
        DataType::Struct(fields, _) => SqlType::Struct(
            fields
                .iter()
                .map(|f| {
                    let name = f.field_name.as_ref()?.value.clone();
                    Some((name, from_data_type(&f.field_type)?))
                })
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// Writes `t` as ksqlDB type syntax that [`parse_sql_type`] reads back, quoting struct
/// field names only when they need it.
pub(crate) fn write_type(t: &SqlType, out: &mut String) {
    match t {
        SqlType::Array(e) => {
            out.push_str("ARRAY<");
            write_type(e, out);
            out.push('>');
        }
        SqlType::Map(k, v) => {
            out.push_str("MAP<");
            write_type(k, out);
            out.push_str(", ");
            write_type(v, out);
            out.push('>');
        }
        SqlType::Struct(fields) => {
            out.push_str("STRUCT<");
            for (i, (name, ft)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                // Field names are always back-quoted, as ksqlDB prints them.
                out.push('`');
                out.push_str(&name.replace('`', "``"));
                out.push('`');
                out.push(' ');
                write_type(ft, out);
            }
            out.push('>');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A type rendered as ksqlDB syntax.
pub(crate) fn type_sql(t: &SqlType) -> String {
    let mut s = String::new();
    write_type(t, &mut s);
    s
}
