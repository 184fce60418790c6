//! Whole-format tests: round trips per format and type, ksqlDB's coercions, per-row errors.

use super::*;

fn cols(list: &[(&str, SqlType)]) -> Vec<(String, SqlType)> {
    list.iter().map(|(n, t)| (n.to_string(), t.clone())).collect()
}

fn json() -> Format {
    Format::new(FormatKind::Json)
}

fn dec(precision: u8, scale: i8) -> SqlType {
    SqlType::Decimal { precision, scale }
}

fn text(bytes: Option<Vec<u8>>) -> String {
    String::from_utf8(bytes.expect("bytes")).expect("utf-8")
}

fn decode_one(f: &Format, c: &[(String, SqlType)], input: &str) -> Vec<Value> {
    f.decode_row(c, Some(input.as_bytes())).expect("decodes")
}

fn decode_err(f: &Format, c: &[(String, SqlType)], input: &[u8]) -> String {
    f.decode_row(c, Some(input)).unwrap_err().to_string()
}

/// A column of every type, nested ones included.
fn every_type() -> Vec<(String, SqlType)> {
    cols(&[
        ("B", SqlType::Boolean),
        ("I", SqlType::Int),
        ("L", SqlType::BigInt),
        ("D", SqlType::Double),
        ("DEC", dec(6, 4)),
        ("S", SqlType::String),
        ("BY", SqlType::Bytes),
        ("TS", SqlType::Timestamp),
        ("DT", SqlType::Date),
        ("TM", SqlType::Time),
        ("A", SqlType::Array(Box::new(SqlType::Int))),
        ("M", SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double))),
        (
            "ST",
            SqlType::Struct(vec![
                ("X".into(), SqlType::String),
                ("Y".into(), SqlType::Array(Box::new(dec(4, 2)))),
            ]),
        ),
    ])
}

/// Every type through JSON: decode, encode, decode again.
#[test]
fn json_round_trips_every_type() {
    let c = every_type();
    let input = r#"{"B":true,"I":-7,"L":10000000000,"D":1.0,"DEC":1.1000,"S":"hé\"",
        "BY":"ew==","TS":1600000000000,"DT":18000,"TM":3600000,"A":[1,null,3],
        "M":{"a":1.5,"b":null},"ST":{"X":"x","Y":[1.10]}}"#;
    let values = decode_one(&json(), &c, input);
    assert_eq!(
        values,
        vec![
            Value::Boolean(true),
            Value::Int(-7),
            Value::BigInt(10_000_000_000),
            Value::Double(1.0),
            Value::Decimal(11000, 4),
            Value::String("hé\"".into()),
            Value::Bytes(vec![b'{']),
            Value::Timestamp(1_600_000_000_000),
            Value::Date(18000),
            Value::Time(3_600_000),
            Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)]),
            Value::Map(vec![
                (Value::String("a".into()), Value::Double(1.5)),
                (Value::String("b".into()), Value::Null),
            ]),
            Value::Struct(vec![
                ("X".into(), Value::String("x".into())),
                ("Y".into(), Value::Array(vec![Value::Decimal(110, 2)])),
            ]),
        ]
    );
    let bytes = json().encode_row(&c, &values).unwrap();
    assert_eq!(
        text(bytes.clone()),
        r#"{"B":true,"I":-7,"L":10000000000,"D":1.0,"DEC":1.1000,"S":"hé\"","BY":"ew==","TS":1600000000000,"DT":18000,"TM":3600000,"A":[1,null,3],"M":{"a":1.5,"b":null},"ST":{"X":"x","Y":[1.10]}}"#
    );
    let again = json().decode_row(&c, bytes.as_deref()).unwrap();
    assert_eq!(again, values);
}

#[test]
fn json_fields_match_case_insensitively_and_missing_are_null() {
    let c = cols(&[("ID", SqlType::Int), ("NAME", SqlType::String), ("GONE", SqlType::Int)]);
    assert_eq!(
        decode_one(&json(), &c, r#"{"id": 1, "Name": "a", "extra": {"x": [1]}}"#),
        vec![Value::Int(1), Value::String("a".into()), Value::Null]
    );
    // An exact-case key beats an upper-cased one, wherever it appears.
    assert_eq!(decode_one(&json(), &c, r#"{"ID": 1, "id": 2}"#)[0], Value::Int(1));
    // One key may feed a quoted lower-case column and its upper-case twin.
    let twins = cols(&[("id", SqlType::Int), ("ID", SqlType::Int)]);
    assert_eq!(
        decode_one(&json(), &twins, r#"{"id": 5}"#),
        vec![Value::Int(5), Value::Int(5)]
    );
    // A quoted (mixed-case) column only matches its exact spelling.
    let quoted = cols(&[("Name", SqlType::String)]);
    assert_eq!(decode_one(&json(), &quoted, r#"{"NAME": "x"}"#), vec![Value::Null]);
    // Nested struct fields match the same way.
    let s = cols(&[("S", SqlType::Struct(vec![("F0".into(), SqlType::Int)]))]);
    assert_eq!(
        decode_one(&json(), &s, r#"{"s": {"f0": 4}}"#),
        vec![Value::Struct(vec![("F0".into(), Value::Int(4))])]
    );
}

#[test]
fn json_coerces_like_ksqldb() {
    let c = cols(&[
        ("I", SqlType::Int),
        ("L", SqlType::BigInt),
        ("D", SqlType::Double),
        ("S", SqlType::String),
        ("DEC", dec(4, 2)),
    ]);
    assert_eq!(
        decode_one(&json(), &c, r#"{"I":"12","L":1.9,"D":"2.5","S":10.50,"DEC":"1.5"}"#),
        vec![
            Value::Int(12),
            Value::BigInt(1),
            Value::Double(2.5),
            Value::String("10.50".into()),
            Value::Decimal(150, 2),
        ]
    );
    // Objects and arrays read into STRING.
    let s = cols(&[("S", SqlType::String), ("T", SqlType::String)]);
    assert_eq!(
        decode_one(&json(), &s, r#"{"S": { "a" : [1, 2] }, "T": [1, "x", null, [true]]}"#),
        vec![
            Value::String(r#"{"a":[1,2]}"#.into()),
            Value::String("[1, x, null, [true]]".into()),
        ]
    );
    // Array items are coerced too.
    let a = cols(&[("FOO", SqlType::Array(Box::new(SqlType::String)))]);
    let unwrapped = Format {
        wrap_single_value: Some(false),
        ..json()
    };
    assert_eq!(
        decode_one(&unwrapped, &a, "[1, 2, 3]"),
        vec![Value::Array(vec![
            Value::String("1".into()),
            Value::String("2".into()),
            Value::String("3".into())
        ])]
    );
}

#[test]
fn decimals_keep_precision_and_refuse_rounding() {
    let c = cols(&[("V", dec(33, 16))]);
    let f = Format::new(FormatKind::Delimited);
    let v = decode_one(&f, &c, "12345678987654321.2345678987654321");
    assert_eq!(v, vec![Value::Decimal(123456789876543212345678987654321, 16)]);
    assert_eq!(
        text(f.encode_row(&c, &v).unwrap()),
        "12345678987654321.2345678987654321"
    );
    let c2 = cols(&[("DEC", dec(6, 4))]);
    // JSON numbers keep their exact digits: never through f64.
    let v = decode_one(&json(), &c2, r#"{"DEC": 10}"#);
    assert_eq!(text(json().encode_row(&c2, &v).unwrap()), r#"{"DEC":10.0000}"#);
    assert!(decode_err(&json(), &c2, br#"{"DEC": 1.00001}"#).contains("without rounding"));
    assert!(decode_err(&json(), &c2, br#"{"DEC": 100}"#).contains("Numeric field overflow"));
}

#[test]
fn json_errors_are_per_row_with_ksqldb_wording() {
    let c = cols(&[("V0", SqlType::Int), ("S", SqlType::String)]);
    let inputs: Vec<Option<&[u8]>> = vec![
        Some(br#"{"V0": 1, "S": "a"}"#),
        Some(br#"{"V0": true, "S": "b"}"#),
        Some(br#"{"V0": 2, "S": "c""#),
        None,
        Some(br#"{"V0": "x"}"#),
        Some(br#"[1]"#),
        Some(b"null"),
        Some(br#"{"V0": 3, "S": "d"}"#),
    ];
    let out = json().decode(&c, &inputs);
    let got: Vec<Vec<Value>> = (0..inputs.len())
        .map(|r| out.arrays.iter().map(|a| value_at(a.as_ref(), r)).collect())
        .collect();
    assert_eq!(got[0], vec![Value::Int(1), Value::String("a".into())]);
    assert_eq!(got[7], vec![Value::Int(3), Value::String("d".into())]);
    for r in [1, 2, 3, 4, 5, 6] {
        assert_eq!(got[r], vec![Value::Null, Value::Null], "row {r}");
    }
    let rows: Vec<usize> = out.errors.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, vec![1, 2, 4, 5]);
    assert_eq!(
        out.errors[0].1,
        "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $.V0"
    );
    assert!(out.errors[1].1.starts_with("Invalid JSON"), "{}", out.errors[1].1);
    assert_eq!(
        out.errors[2].1,
        "Can't coerce string to type. targetType: INTEGER, path: $.V0"
    );
    assert_eq!(
        out.errors[3].1,
        "Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<`V0` INTEGER, `S` STRING>, path: $"
    );
    assert_eq!(
        out.null_rows,
        vec![false, false, false, true, false, false, true, false]
    );
    assert_eq!(
        json().decode_error_message("t", &out.errors[0].1),
        "Failed to deserialize value from topic: t. Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $.V0"
    );
    // Nested paths.
    let n = cols(&[(
        "A",
        SqlType::Array(Box::new(SqlType::Struct(vec![("X".into(), SqlType::Int)]))),
    )]);
    assert_eq!(
        decode_err(&json(), &n, br#"{"A": [{"X": 1}, {"X": [2]}]}"#),
        "Can't convert type. sourceType: ArrayNode, requiredType: INTEGER, path: $.A[1].X"
    );
}

#[test]
fn single_values_wrap_and_unwrap() {
    let c = cols(&[("FOO", SqlType::Boolean)]);
    let wrapped = json();
    let unwrapped = Format {
        wrap_single_value: Some(false),
        ..json()
    };
    assert_eq!(
        text(wrapped.encode_row(&c, &[Value::Boolean(true)]).unwrap()),
        r#"{"FOO":true}"#
    );
    assert_eq!(text(unwrapped.encode_row(&c, &[Value::Boolean(true)]).unwrap()), "true");
    assert_eq!(unwrapped.encode_row(&c, &[Value::Null]).unwrap(), None);
    assert_eq!(text(wrapped.encode_row(&c, &[Value::Null]).unwrap()), r#"{"FOO":null}"#);
    assert_eq!(decode_one(&unwrapped, &c, "false"), vec![Value::Boolean(false)]);
    // A bare value where an object is expected is an error when wrapped.
    assert!(decode_err(&wrapped, &c, b"true").contains("sourceType: BooleanNode"));

    // Keys: one column is bare, several are an object, all-NULL is no key at all unless
    // the caller says which keys are null as a whole (then all-NULL columns are an object).
    let key = json().for_key();
    let k1 = cols(&[("K", SqlType::String)]);
    assert_eq!(
        text(key.encode_row(&k1, &[Value::String("a".into())]).unwrap()),
        "\"a\""
    );
    assert_eq!(decode_one(&key, &k1, "\"a\""), vec![Value::String("a".into())]);
    let k2 = cols(&[("K1", SqlType::String), ("K2", SqlType::Int)]);
    assert_eq!(
        text(
            key.encode_row(&k2, &[Value::String("a".into()), Value::Int(1)])
                .unwrap()
        ),
        r#"{"K1":"a","K2":1}"#
    );
    assert_eq!(key.encode_row(&k2, &[Value::Null, Value::Null]).unwrap(), None);
    assert_eq!(key.encode_row(&k1, &[Value::Null]).unwrap(), None);
    let nulls = |ty: &SqlType| crate::types::arrow::build_array(ty, &[Value::Null, Value::Null]).unwrap();
    let arrays = vec![nulls(&SqlType::String), nulls(&SqlType::Int)];
    let flags = arrow_array::BooleanArray::from(vec![false, true]);
    let out = key.encode_batch_keyed(&k2, &arrays, 2, Some(&flags));
    assert_eq!(out.row(0), Some(&br#"{"K1":null,"K2":null}"#[..]));
    assert_eq!(out.row(1), None);
    // One column: NULL is a null key whatever the flags say.
    let out = key.encode_batch_keyed(&k1, &arrays[..1], 2, Some(&flags));
    assert_eq!((out.row(0), out.row(1)), (None, None));
}

#[test]
fn delimited_round_trips_and_quotes() {
    let f = Format::new(FormatKind::Delimited);
    let c = cols(&[
        ("ID", SqlType::BigInt),
        ("NAME", SqlType::String),
        ("OK", SqlType::Boolean),
        ("D", SqlType::Double),
        ("B", SqlType::Bytes),
        ("DT", SqlType::Date),
    ]);
    let v = decode_one(&f, &c, "\"-1\",\"a,b\",TRUE,2,IQ==,-10");
    assert_eq!(
        v,
        vec![
            Value::BigInt(-1),
            Value::String("a,b".into()),
            Value::Boolean(true),
            Value::Double(2.0),
            Value::Bytes(b"!".to_vec()),
            Value::Date(-10),
        ]
    );
    assert_eq!(text(f.encode_row(&c, &v).unwrap()), "\"-1\",\"a,b\",true,2.0,IQ==,-10");
    // NULLs are empty fields, and empty fields read back as NULL for every type.
    let nulls = vec![Value::Null; 6];
    assert_eq!(text(f.encode_row(&c, &nulls).unwrap()), ",,,,,");
    assert_eq!(decode_one(&f, &c, ",,,,,"), nulls);
    // Other delimiters.
    let pipe = f.clone().with_delimiter("|").unwrap();
    let c3 = cols(&[("A", SqlType::Int), ("B", SqlType::String), ("C", SqlType::Int)]);
    let v = decode_one(&pipe, &c3, "0|zero|0");
    assert_eq!(text(pipe.encode_row(&c3, &v).unwrap()), "0|zero|0");
    let space = f.clone().with_delimiter("SPACE").unwrap();
    assert_eq!(decode_one(&space, &c3, "1 x 2")[1], Value::String("x".into()));
    // Keys: all NULL is a null key.
    let key = f.clone().for_key();
    assert_eq!(
        key.encode_row(&cols(&[("K", SqlType::Int)]), &[Value::Null]).unwrap(),
        None
    );
}

#[test]
fn delimited_errors_are_per_row() {
    let f = Format::new(FormatKind::Delimited);
    let c = cols(&[("A", SqlType::Int), ("B", SqlType::String)]);
    let inputs: Vec<Option<&[u8]>> = vec![
        Some(b"1,a"),
        Some(b"1"),
        Some(b"x,b"),
        Some(b"2,\"unterminated"),
        Some(b""),
        Some(b"3,c"),
    ];
    let out = f.decode(&c, &inputs);
    let msgs: Vec<(usize, &str)> = out.errors.iter().map(|(r, m)| (*r, m.as_str())).collect();
    assert_eq!(
        msgs,
        vec![
            (
                1,
                "Error deserializing delimited row: Unexpected field count, csvFields:1 schemaFields:2"
            ),
            (2, "Error deserializing delimited row: For input string: \"x\""),
            (
                3,
                "Error deserializing delimited row: EOF reached before encapsulated token finished"
            ),
            (4, "Error deserializing delimited row: No fields in record"),
        ]
    );
    assert_eq!(value_at(out.arrays[0].as_ref(), 5), Value::Int(3));
    assert_eq!(value_at(out.arrays[1].as_ref(), 5), Value::String("c".into()));
    assert_eq!(value_at(out.arrays[0].as_ref(), 2), Value::Null);
}

#[test]
fn kafka_uses_big_endian_primitives() {
    let f = Format::new(FormatKind::Kafka);
    let cases = [
        (SqlType::Int, Value::Int(2), vec![0, 0, 0, 2]),
        (SqlType::BigInt, Value::BigInt(-1), vec![0xff; 8]),
        (SqlType::Double, Value::Double(2.0), 2.0f64.to_be_bytes().to_vec()),
        (SqlType::String, Value::String("bar".into()), b"bar".to_vec()),
        (SqlType::Bytes, Value::Bytes(vec![0, 1]), vec![0, 1]),
    ];
    for (ty, v, bytes) in cases {
        let c = cols(&[("V", ty)]);
        assert_eq!(f.encode_row(&c, std::slice::from_ref(&v)).unwrap(), Some(bytes.clone()));
        assert_eq!(f.decode_row(&c, Some(&bytes)).unwrap(), vec![v]);
        assert_eq!(f.encode_row(&c, &[Value::Null]).unwrap(), None);
    }
    let c = cols(&[("V", SqlType::Int)]);
    let inputs: Vec<Option<&[u8]>> = vec![Some(&[0, 0, 0, 1]), Some(&[0, 1]), Some(&[0, 0, 0, 3])];
    let out = f.decode(&c, &inputs);
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].0, 1);
    assert!(out.errors[0].1.contains("IntegerDeserializer is not 4"));
    assert_eq!(value_at(out.arrays[0].as_ref(), 2), Value::Int(3));
    // No columns: bytes are ignored, nothing is written.
    assert_eq!(f.decode_row(&[], Some(b"whatever")).unwrap(), vec![]);
    assert_eq!(f.encode_batch(&[], &[], 2).rows, vec![None, None]);
}

#[test]
fn none_reads_and_writes_nothing() {
    let f = Format::from_name("none").unwrap();
    assert_eq!(f.decode_row(&[], Some(b"junk")).unwrap(), vec![]);
    let out = f.encode_batch(&[], &[], 3);
    assert_eq!(out.rows, vec![None, None, None]);
    assert!(out.errors.is_empty());
}

#[test]
fn format_names_and_delimiters() {
    assert_eq!(Format::from_name("Json").unwrap().kind, FormatKind::Json);
    assert_eq!(Format::from_name("delimited").unwrap().delimiter, b',');
    assert!(
        Format::from_name("AVRO")
            .unwrap_err()
            .to_string()
            .contains("schema registry")
    );
    assert!(
        Format::from_name("FOO")
            .unwrap_err()
            .to_string()
            .contains("Supported formats: JSON, DELIMITED, KAFKA, NONE")
    );
    let d = Format::from_name("DELIMITED").unwrap();
    assert_eq!(d.clone().with_delimiter("TAB").unwrap().delimiter, b'\t');
    assert!(
        d.clone()
            .with_delimiter("<~>")
            .unwrap_err()
            .to_string()
            .contains("Invalid delimiter value: '<~>'")
    );
    assert!(
        d.clone()
            .with_delimiter(" ")
            .unwrap_err()
            .to_string()
            .contains("Delimiter cannot be empty")
    );
    assert_eq!(
        json().with_delimiter("|").unwrap_err().to_string(),
        "JSON does not support the following configs: [delimiter]"
    );
    let e: Error = FormatError::Deserialize("x".into()).into();
    assert_eq!(e.kind, ErrorKind::Format);
}

#[test]
fn decodes_a_large_json_batch() {
    let c = cols(&[
        ("ID", SqlType::BigInt),
        ("NAME", SqlType::String),
        ("PRICE", SqlType::Double),
        ("QTY", SqlType::Int),
        ("TAGS", SqlType::Array(Box::new(SqlType::String))),
    ]);
    let records: Vec<Vec<u8>> = (0..100_000)
        .map(|i| {
            format!(
                r#"{{"id":{i},"name":"item-{i}","price":{}.5,"qty":{},"tags":["a","b"]}}"#,
                i % 100,
                i % 7
            )
            .into_bytes()
        })
        .collect();
    let inputs: Vec<Option<&[u8]>> = records.iter().map(|r| Some(r.as_slice())).collect();
    let out = json().decode(&c, &inputs);
    assert!(out.errors.is_empty());
    assert_eq!(out.arrays[0].len(), 100_000);
    assert_eq!(value_at(out.arrays[0].as_ref(), 99_999), Value::BigInt(99_999));
    assert_eq!(value_at(out.arrays[1].as_ref(), 42), Value::String("item-42".into()));
    let encoded = json().encode(&c, &out.arrays);
    assert!(encoded.errors.is_empty());
    assert_eq!(
        text(encoded.row(7).map(<[u8]>::to_vec)),
        r#"{"ID":7,"NAME":"item-7","PRICE":7.5,"QTY":0,"TAGS":["a","b"]}"#
    );
}

/// The decoder remembers how the previous record's keys matched columns and reads an object
/// in one pass when it can; records whose keys change, repeat, or collide (and records that
/// fail) must come out exactly as a fresh two-pass read of each gives.
#[test]
fn json_batch_matches_per_record_decoding_whatever_the_key_order() {
    let c = cols(&[
        ("ID", SqlType::Int),
        ("id", SqlType::Int),
        ("NAME", SqlType::String),
        ("S", SqlType::Struct(vec![("F0".into(), SqlType::Int)])),
    ]);
    let inputs: Vec<&[u8]> = vec![
        br#"{"ID": 1, "NAME": "a", "s": {"f0": 1}}"#,
        br#"{"ID": 2, "NAME": "b", "s": {"f0": 2}}"#,
        // Same keys in another order, an unknown key, an escaped key.
        br#"{"extra": [1, {"x": 2}], "s": null, "n\u0041ME": "c", "ID": 3}"#,
        // `id` feeds the quoted `id` column exactly and `ID` upper-cased.
        br#"{"id": 4, "name": "d"}"#,
        // Exact `ID` beats upper-cased `id` for ID; `id` still feeds `id`.
        br#"{"id": 5, "ID": 6}"#,
        // Duplicate keys: the later one wins.
        br#"{"NAME": "x", "NAME": "y", "ID": 7}"#,
        // A conversion error after a good column: the row is NULL, the message names it.
        br#"{"ID": 8, "NAME": "e", "s": {"f0": "nope"}}"#,
        // A syntax error after a conversion error reports the syntax error.
        br#"{"ID": true, "NAME": "f""#,
        // Bad UTF-8 inside a string keeps its precise message.
        b"{\"NAME\": \"\xff\"}",
        br#"{"ID": 9, "NAME": "g", "s": {"F0": 9}}"#,
    ];
    let batch = json().decode(&c, &inputs.iter().map(|b| Some(*b)).collect::<Vec<_>>());
    for (row, input) in inputs.iter().enumerate() {
        let alone = json().decode(&c, &[Some(*input)]);
        let got: Vec<Value> = batch.arrays.iter().map(|a| value_at(a.as_ref(), row)).collect();
        let want: Vec<Value> = alone.arrays.iter().map(|a| value_at(a.as_ref(), 0)).collect();
        assert_eq!(got, want, "row {row}");
        let err = batch.errors.iter().find(|(r, _)| *r == row).map(|(_, m)| m.clone());
        assert_eq!(err, alone.errors.first().map(|(_, m)| m.clone()), "row {row}");
    }
    let row = |r: usize| -> Vec<Value> { batch.arrays.iter().map(|a| value_at(a.as_ref(), r)).collect() };
    let s = |v: i32| Value::Struct(vec![("F0".into(), Value::Int(v))]);
    assert_eq!(
        row(0),
        vec![Value::Int(1), Value::Null, Value::String("a".into()), s(1)]
    );
    assert_eq!(
        row(2),
        vec![Value::Int(3), Value::Null, Value::String("c".into()), Value::Null]
    );
    assert_eq!(
        row(3),
        vec![Value::Int(4), Value::Int(4), Value::String("d".into()), Value::Null]
    );
    assert_eq!(row(4), vec![Value::Int(6), Value::Int(5), Value::Null, Value::Null]);
    assert_eq!(
        row(5),
        vec![Value::Int(7), Value::Null, Value::String("y".into()), Value::Null]
    );
    assert_eq!(row(6), vec![Value::Null; 4]);
    assert_eq!(
        row(9),
        vec![Value::Int(9), Value::Null, Value::String("g".into()), s(9)]
    );
    let errors: Vec<(usize, String)> = batch.errors.clone();
    assert_eq!(errors.iter().map(|(r, _)| *r).collect::<Vec<_>>(), vec![6, 7, 8]);
    assert!(errors[0].1.contains("path: $.S.F0"), "{}", errors[0].1);
    assert!(
        errors[1].1.starts_with("Invalid JSON: expected ',' or '}'"),
        "{}",
        errors[1].1
    );
    assert_eq!(errors[2].1, "Invalid JSON: bad UTF-8 at offset 10");
}

/// Every type through the internal binary format, NULLs at every level included; a row of
/// JSON (what internal topics held before) is still read.
#[test]
fn internal_round_trips_every_type_and_still_reads_json() {
    let internal = Format::new(FormatKind::Internal);
    let mut c = every_type();
    c.push(("N".into(), SqlType::String));
    let values = vec![
        Value::Boolean(true),
        Value::Int(-7),
        Value::BigInt(10_000_000_000),
        Value::Double(-0.5),
        Value::Decimal(-11000, 4),
        Value::String("hé\"".into()),
        Value::Bytes(vec![0, 255]),
        Value::Timestamp(1_600_000_000_000),
        Value::Date(18000),
        Value::Time(3_600_000),
        Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)]),
        Value::Map(vec![
            (Value::String("a".into()), Value::Double(1.5)),
            (Value::String("b".into()), Value::Null),
        ]),
        Value::Struct(vec![
            ("X".into(), Value::Null),
            ("Y".into(), Value::Array(vec![Value::Decimal(110, 2), Value::Null])),
        ]),
        Value::Null,
    ];
    let bytes = internal.encode_row(&c, &values).unwrap().expect("a row");
    assert_eq!(bytes[0], binary::MAGIC);
    assert_eq!(internal.decode_row(&c, Some(&bytes)).unwrap(), values);
    // No names, quotes or digits: smaller than the JSON of the same row.
    let json_len = json().encode_row(&c, &values).unwrap().unwrap().len();
    assert!(bytes.len() < json_len, "{} vs {json_len}", bytes.len());

    let old = json().encode_row(&c, &values).unwrap();
    assert_eq!(internal.decode_row(&c, old.as_deref()).unwrap(), values);
    // A row with no value columns is one byte.
    assert_eq!(internal.encode_row(&[], &[]).unwrap(), Some(vec![binary::MAGIC]));
    assert_eq!(
        internal.decode_row(&[], Some(&[binary::MAGIC])).unwrap(),
        Vec::<Value>::new()
    );
}

/// Damaged binary rows are per-row errors, never panics, and never shift the other rows.
#[test]
fn internal_errors_are_per_row() {
    let internal = Format::new(FormatKind::Internal);
    let c = cols(&[("S", SqlType::String), ("A", SqlType::Array(Box::new(SqlType::BigInt)))]);
    let good = internal
        .encode_row(&c, &[Value::String("ok".into()), Value::Array(vec![Value::BigInt(1)])])
        .unwrap()
        .unwrap();
    let mut bad_utf8 = good.clone();
    bad_utf8[6] = 0xff; // the first byte of "ok"
    let mut huge_count = good.clone();
    huge_count[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut bad_tag = good.clone();
    bad_tag[1] = 7;
    let mut trailing = good.clone();
    trailing.push(0);
    let cases: Vec<&[u8]> = vec![
        &good,
        &good[..good.len() - 3],
        &bad_utf8,
        &huge_count,
        &bad_tag,
        &trailing,
        &good,
    ];
    let inputs: Vec<Option<&[u8]>> = cases.iter().map(|b| Some(*b)).collect();
    let decoded = internal.decode(&c, &inputs);
    let messages: Vec<(usize, &str)> = decoded.errors.iter().map(|(r, m)| (*r, m.as_str())).collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert!(messages[0].1.contains("ends inside a value"), "{messages:?}");
    assert!(messages[1].1.contains("not UTF-8"), "{messages:?}");
    assert!(messages[2].1.contains("ends inside a value"), "{messages:?}");
    assert!(messages[3].1.contains("unknown tag 7"), "{messages:?}");
    assert!(messages[4].1.contains("1 bytes after the last column"), "{messages:?}");
    assert_eq!(
        messages.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    for row in [0, 6] {
        assert_eq!(value_at(decoded.arrays[0].as_ref(), row), Value::String("ok".into()));
        assert_eq!(
            value_at(decoded.arrays[1].as_ref(), row),
            Value::Array(vec![Value::BigInt(1)])
        );
    }
    assert_eq!(value_at(decoded.arrays[0].as_ref(), 3), Value::Null);

    // Values a column's type cannot hold are refused, not passed on.
    let c = cols(&[("D", dec(4, 2)), ("B", SqlType::Boolean)]);
    let row = |d: i128, b: u8| {
        let mut out = vec![binary::MAGIC, 1];
        out.extend_from_slice(&d.to_le_bytes());
        out.extend_from_slice(&[1, b]);
        out
    };
    assert_eq!(
        internal.decode_row(&c, Some(&row(-9999, 1))).unwrap(),
        vec![Value::Decimal(-9999, 2), Value::Boolean(true)]
    );
    let err = internal.decode_row(&c, Some(&row(10000, 0))).unwrap_err().to_string();
    assert!(err.contains("more than 4 digits"), "{err}");
    let err = internal
        .decode_row(&c, Some(&row(i128::MIN, 0)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 4 digits"), "{err}");
    let err = internal.decode_row(&c, Some(&row(1, 2))).unwrap_err().to_string();
    assert!(err.contains("BOOLEAN byte 2"), "{err}");
}
