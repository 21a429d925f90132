//! CloudFormation values and intrinsic functions as a Rust type.
//!
//! Every property value in the typed model is an [`Expr`], so `Ref`, `GetAtt`,
//! `Sub` and friends are built with functions, not spelt as strings, and the
//! validation pass can find every reference.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Pseudo parameters CloudFormation defines.
pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// A pseudo parameter, for `Ref` (`pseudo(Pseudo::Region)`); inside `Fn::Sub`
/// strings they are written `${AWS::Region}` and checked by validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    AccountId,
    NotificationArns,
    NoValue,
    Partition,
    Region,
    StackId,
    StackName,
    UrlSuffix,
}

impl Pseudo {
    pub fn as_str(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }
}

/// `{"Ref": "AWS::…"}`.
pub fn pseudo(p: Pseudo) -> Expr {
    Expr::Ref(p.as_str().to_string())
}

/// A CloudFormation value: a literal, a list or map of values, or an intrinsic.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Expr>),
    Map(BTreeMap<String, Expr>),
    /// `{"Ref": name}`: a parameter, resource or pseudo parameter.
    Ref(String),
    /// `{"Fn::GetAtt": [resource, attribute]}`.
    GetAtt(String, String),
    /// `{"Fn::Sub": "…${Name}…"}`: variables are parameters, resources,
    /// `Resource.Attr` or pseudo parameters.
    Sub(String),
    /// `{"Fn::Join": [sep, [..]]}`.
    Join(String, Vec<Expr>),
    /// `{"Fn::If": [condition, then, else]}`.
    If(String, Box<Expr>, Box<Expr>),
    /// `{"Fn::Select": [index, list]}`.
    Select(u32, Box<Expr>),
    /// `{"Fn::Split": [sep, value]}`.
    Split(String, Box<Expr>),
    /// `{"Fn::Equals": [a, b]}` (conditions only).
    Equals(Box<Expr>, Box<Expr>),
    /// `{"Fn::Not": [cond]}` (conditions only).
    Not(Box<Expr>),
    /// `{"Fn::And": [cond, ...]}` (conditions only; 2 to 10 of them).
    And(Vec<Expr>),
    /// `{"Fn::GetAZs": ""}` and other rarely used shapes are not modelled.
    /// `{"Condition": name}` inside a condition expression.
    Condition(String),
}

pub fn s(v: impl Into<String>) -> Expr {
    Expr::Str(v.into())
}
pub fn r#ref(name: impl Into<String>) -> Expr {
    Expr::Ref(name.into())
}
pub fn get_att(resource: impl Into<String>, attribute: impl Into<String>) -> Expr {
    Expr::GetAtt(resource.into(), attribute.into())
}
pub fn sub(template: impl Into<String>) -> Expr {
    Expr::Sub(template.into())
}
pub fn join(sep: impl Into<String>, parts: Vec<Expr>) -> Expr {
    Expr::Join(sep.into(), parts)
}
pub fn if_(condition: impl Into<String>, then: Expr, otherwise: Expr) -> Expr {
    Expr::If(condition.into(), Box::new(then), Box::new(otherwise))
}
pub fn no_value() -> Expr {
    pseudo(Pseudo::NoValue)
}
pub fn list(items: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::List(items.into_iter().collect())
}
pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Expr)>) -> Expr {
    Expr::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

impl From<&str> for Expr {
    fn from(v: &str) -> Self {
        Expr::Str(v.to_string())
    }
}
impl From<String> for Expr {
    fn from(v: String) -> Self {
        Expr::Str(v)
    }
}
impl From<&String> for Expr {
    fn from(v: &String) -> Self {
        Expr::Str(v.clone())
    }
}
impl From<i64> for Expr {
    fn from(v: i64) -> Self {
        Expr::Int(v)
    }
}
impl From<bool> for Expr {
    fn from(v: bool) -> Self {
        Expr::Bool(v)
    }
}

fn one<S: Serializer, V: Serialize + ?Sized>(ser: S, key: &str, v: &V) -> Result<S::Ok, S::Error> {
    let mut m = ser.serialize_map(Some(1))?;
    m.serialize_entry(key, v)?;
    m.end()
}

struct Pair<'a, A: ?Sized, B: ?Sized>(&'a A, &'a B);
impl<A: Serialize + ?Sized, B: Serialize + ?Sized> Serialize for Pair<'_, A, B> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut seq = ser.serialize_seq(Some(2))?;
        seq.serialize_element(self.0)?;
        seq.serialize_element(self.1)?;
        seq.end()
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Expr::Str(v) => ser.serialize_str(v),
            Expr::Int(v) => ser.serialize_i64(*v),
            Expr::Bool(v) => ser.serialize_bool(*v),
            Expr::List(v) => v.serialize(ser),
            Expr::Map(v) => v.serialize(ser),
            Expr::Ref(n) => one(ser, "Ref", n),
            Expr::GetAtt(r, a) => one(ser, "Fn::GetAtt", &[r, a]),
            Expr::Sub(t) => one(ser, "Fn::Sub", t),
            Expr::Join(sep, parts) => one(ser, "Fn::Join", &Pair(sep, parts)),
            Expr::If(c, a, b) => {
                struct Triple<'a>(&'a str, &'a Expr, &'a Expr);
                impl Serialize for Triple<'_> {
                    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                        let mut seq = ser.serialize_seq(Some(3))?;
                        seq.serialize_element(self.0)?;
                        seq.serialize_element(self.1)?;
                        seq.serialize_element(self.2)?;
                        seq.end()
                    }
                }
                one(ser, "Fn::If", &Triple(c, a, b))
            }
            Expr::Select(i, v) => one(ser, "Fn::Select", &Pair(&i.to_string(), v.as_ref())),
            Expr::Split(sep, v) => one(ser, "Fn::Split", &Pair(sep, v.as_ref())),
            Expr::Equals(a, b) => one(ser, "Fn::Equals", &Pair(a.as_ref(), b.as_ref())),
            Expr::Not(c) => one(ser, "Fn::Not", &[c.as_ref()]),
            Expr::And(cs) => one(ser, "Fn::And", cs),
            Expr::Condition(n) => one(ser, "Condition", n),
        }
    }
}

/// The `${…}` variables of a `Fn::Sub` string (`${!Literal}` is an escape).
pub fn sub_variables(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.push(var.trim().to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_serialize_to_cloudformation_shapes() {
        let v = serde_json::to_value(list([
            r#ref("A"),
            get_att("B", "Arn"),
            sub("x-${AWS::Region}"),
            join(",", vec![s("a"), s("b")]),
            if_("C", s("y"), no_value()),
            Expr::Select(1, Box::new(r#ref("L"))),
        ]))
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"Ref": "A"},
                {"Fn::GetAtt": ["B", "Arn"]},
                {"Fn::Sub": "x-${AWS::Region}"},
                {"Fn::Join": [",", ["a", "b"]]},
                {"Fn::If": ["C", "y", {"Ref": "AWS::NoValue"}]},
                {"Fn::Select": ["1", {"Ref": "L"}]},
            ])
        );
    }

    #[test]
    fn pseudo_parameters_are_the_known_ones() {
        for p in [
            Pseudo::AccountId,
            Pseudo::Region,
            Pseudo::Partition,
            Pseudo::UrlSuffix,
            Pseudo::NoValue,
        ] {
            assert!(PSEUDO_PARAMETERS.contains(&p.as_str()));
        }
        assert_eq!(
            serde_json::to_value(pseudo(Pseudo::Region)).unwrap(),
            serde_json::json!({"Ref": "AWS::Region"})
        );
    }

    #[test]
    fn sub_variables_skip_escapes() {
        assert_eq!(
            sub_variables("arn:${AWS::Partition}:x:${Key.Arn}/${!Literal}"),
            vec!["AWS::Partition", "Key.Arn"]
        );
    }
}
