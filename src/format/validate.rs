//! Planning-time checks that a format can carry a set of columns, with ksqlDB's messages.

use super::{Format, FormatError, FormatKind};
use crate::types::SqlType;

/// The base type name ksqlDB's format messages use (`ARRAY`, `DECIMAL`, `INTEGER`...).
pub(crate) fn base_type_name(ty: &SqlType) -> String {
    match ty {
        SqlType::Decimal { .. } => "DECIMAL".into(),
        SqlType::Array(_) => "ARRAY".into(),
        SqlType::Map(..) => "MAP".into(),
        SqlType::Struct(_) => "STRUCT".into(),
        t => t.to_string(),
    }
}

/// Columns as ksqlDB lists them: "[`A` INTEGER, `B` STRING]" ("`A` INTEGER KEY" for keys).
fn column_list(columns: &[(String, SqlType)], is_key: bool) -> String {
    let suffix = if is_key { " KEY" } else { "" };
    let items: Vec<String> = columns.iter().map(|(n, t)| format!("`{n}` {t}{suffix}")).collect();
    format!("[{}]", items.join(", "))
}

/// ksqlDB words a key format's refusal with the whole key schema.
fn key_schema_error(format: &str, columns: &[(String, SqlType)], reason: &str) -> String {
    let schema = column_list(columns, true);
    let schema = &schema[1..schema.len() - 1];
    format!(
        "Key format does not support schema.\nformat: {format}\nschema: Persistence{{columns=[{schema}], \
         features=[]}}\nreason: {reason}"
    )
}

fn contains_map(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(..) => true,
        SqlType::Array(t) => contains_map(t),
        SqlType::Struct(fields) => fields.iter().any(|(_, t)| contains_map(t)),
        _ => false,
    }
}

/// A MAP whose key type is not STRING, anywhere inside `ty`.
fn non_string_map_key(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(k, v) => **k != SqlType::String || non_string_map_key(v),
        SqlType::Array(t) => non_string_map_key(t),
        SqlType::Struct(fields) => fields.iter().any(|(_, t)| non_string_map_key(t)),
        _ => false,
    }
}

/// See [`Format::validate`].
pub(crate) fn validate(format: &Format, columns: &[(String, SqlType)], is_key: bool) -> Result<(), FormatError> {
    let unsupported = |m: String| Err(FormatError::Unsupported(m));
    let name = format.kind.name();
    if is_key {
        // ksqlDB refuses maps in keys whatever the format: their serialized order varies.
        if let Some((col, ty)) = columns.iter().find(|(_, t)| contains_map(t)) {
            return unsupported(format!(
                "Map keys, including types that contain maps, are not supported as they may \
                 lead to unexpected behavior due to inconsistent serialization. Key column \
                 name: `{col}`. Column type: {ty}. See \
                 https://github.com/confluentinc/ksql/issues/6621 for more."
            ));
        }
    } else if let Some(wrap) = format.wrap_single_value {
        if columns.len() != 1 {
            return unsupported("'WRAP_SINGLE_VALUE' is only valid for single-field value schemas".into());
        }
        if wrap && format.kind != FormatKind::Json {
            return unsupported(format!(
                "Format '{name}' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
            ));
        }
    }
    match format.kind {
        FormatKind::Json => {
            if columns.iter().any(|(_, t)| non_string_map_key(t)) {
                return unsupported("JSON only supports MAP types with STRING keys".into());
            }
        }
        FormatKind::None => {
            if !columns.is_empty() {
                return unsupported(format!(
                    "The 'NONE' format can only be used when no columns are defined. Got: {}",
                    column_list(columns, false)
                ));
            }
        }
        FormatKind::Kafka => {
            let reason = if columns.len() > 1 {
                format!(
                    "The 'KAFKA' format only supports a single field. Got: {}",
                    column_list(columns, is_key)
                )
            } else if let Some((_, ty)) = columns.first()
                && !matches!(
                    ty,
                    SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::String | SqlType::Bytes
                )
            {
                super::kafka::unsupported(ty)
            } else {
                return Ok(());
            };
            if is_key {
                return unsupported(key_schema_error("KAFKA", columns, &reason));
            }
            return unsupported(reason);
        }
        FormatKind::Delimited => {
            if let Some((col, ty)) = columns.iter().find(|(_, t)| !t.is_primitive()) {
                let reason = format!("The 'DELIMITED' format does not support type '{}'", base_type_name(ty));
                if !is_key {
                    return unsupported(reason);
                }
                return unsupported(key_schema_error(
                    "DELIMITED",
                    columns,
                    &format!("{reason}, column: `{col}`"),
                ));
            }
        }
        // Carries every type (and is only chosen by the planner, for internal topics).
        FormatKind::Internal => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(list: &[(&str, SqlType)]) -> Vec<(String, SqlType)> {
        list.iter().map(|(n, t)| (n.to_string(), t.clone())).collect()
    }

    fn err(f: &Format, c: &[(String, SqlType)], key: bool) -> String {
        f.validate(c, key).unwrap_err().to_string()
    }

    #[test]
    fn kafka_takes_one_primitive_column() {
        let f = Format::new(FormatKind::Kafka);
        assert!(f.validate(&cols(&[("V", SqlType::BigInt)]), false).is_ok());
        assert!(f.validate(&[], true).is_ok());
        assert_eq!(
            err(&f, &cols(&[("V", SqlType::Boolean)]), false),
            "The 'KAFKA' format does not support type 'BOOLEAN'"
        );
        assert_eq!(
            err(&f, &cols(&[("V", SqlType::Array(Box::new(SqlType::Int)))]), false),
            "The 'KAFKA' format does not support type 'ARRAY'"
        );
        assert_eq!(
            err(&f, &cols(&[("A", SqlType::Int), ("B", SqlType::String)]), false),
            "The 'KAFKA' format only supports a single field. Got: [`A` INTEGER, `B` STRING]"
        );
        let wrapped = Format {
            wrap_single_value: Some(true),
            ..f
        };
        assert_eq!(
            err(&wrapped, &cols(&[("V", SqlType::Int)]), false),
            "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
        );
    }

    #[test]
    fn delimited_refuses_nested_types() {
        let f = Format::new(FormatKind::Delimited);
        let s = SqlType::Struct(vec![("F".into(), SqlType::Double)]);
        assert_eq!(
            err(&f, &cols(&[("FOO", s.clone())]), false),
            "The 'DELIMITED' format does not support type 'STRUCT'"
        );
        assert!(
            err(&f, &cols(&[("K", s)]), true)
                .contains("reason: The 'DELIMITED' format does not support type 'STRUCT', column: `K`")
        );
        assert!(
            f.validate(
                &cols(&[
                    ("A", SqlType::Decimal { precision: 4, scale: 2 }),
                    ("B", SqlType::Timestamp)
                ]),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn json_maps_need_string_keys_and_keys_no_maps() {
        let f = Format::new(FormatKind::Json);
        let m = SqlType::Map(Box::new(SqlType::Int), Box::new(SqlType::Double));
        assert_eq!(
            err(&f, &cols(&[("FOO", m.clone())]), false),
            "JSON only supports MAP types with STRING keys"
        );
        assert!(err(&f, &cols(&[("K", m)]), true).starts_with("Map keys, including types"));
        let multi = Format {
            wrap_single_value: Some(false),
            ..f
        };
        assert_eq!(
            err(&multi, &cols(&[("A", SqlType::Int), ("B", SqlType::Int)]), false),
            "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"
        );
    }

    #[test]
    fn none_takes_no_columns() {
        let f = Format::new(FormatKind::None);
        assert!(f.validate(&[], true).is_ok());
        assert!(err(&f, &cols(&[("K", SqlType::Int)]), true).contains("no columns"));
    }
}
