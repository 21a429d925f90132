//! IAM (and KMS key) policy documents as types.

use crate::expr::Expr;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement", serialize_with = "statements")]
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> Self {
        PolicyDocument {
            version: "2012-10-17",
            statement,
        }
    }
}

/// A statement with [`Statement::only_if`] is written as
/// `{"Fn::If": [condition, statement, {"Ref": "AWS::NoValue"}]}`, so the
/// policy holds it only when the condition is true.
fn statements<S: serde::Serializer>(list: &[Statement], ser: S) -> Result<S::Ok, S::Error> {
    use serde::ser::{SerializeMap, SerializeSeq};
    struct OnlyIf<'a>(&'a str, &'a Statement);
    impl Serialize for OnlyIf<'_> {
        fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            let mut m = ser.serialize_map(Some(1))?;
            m.serialize_entry("Fn::If", &(self.0, self.1, crate::expr::no_value()))?;
            m.end()
        }
    }
    let mut seq = ser.serialize_seq(Some(list.len()))?;
    for st in list {
        match &st.only_if {
            None => seq.serialize_element(st)?,
            Some(c) => seq.serialize_element(&OnlyIf(c, st))?,
        }
    }
    seq.end()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// A principal: `{"AWS": …}` or `{"Service": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Principal {
    #[serde(rename = "AWS")]
    Aws(Expr),
    #[serde(rename = "Service")]
    Service(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    #[serde(rename = "Sid", skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    #[serde(rename = "Principal", skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    #[serde(rename = "Action")]
    pub action: Vec<String>,
    /// Empty only in trust policies, which name no resource.
    #[serde(rename = "Resource", skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    /// operator → condition key → values.
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: BTreeMap<String, BTreeMap<String, Expr>>,
    /// A template condition: the statement exists only when it is true.
    #[serde(skip)]
    pub only_if: Option<String>,
}

impl Statement {
    /// An Allow statement for `actions` on `resources`.
    pub fn allow<A: AsRef<str>>(sid: &str, actions: &[A], resources: Vec<Expr>) -> Self {
        let mut action: Vec<String> = actions.iter().map(|a| a.as_ref().to_string()).collect();
        action.sort();
        action.dedup();
        Statement {
            sid: Some(sid.to_string()),
            effect: Effect::Allow,
            principal: None,
            action,
            resource: resources,
            condition: BTreeMap::new(),
            only_if: None,
        }
    }

    /// The statement is part of the policy only when the template
    /// condition `name` is true (an opt-in feature's grant).
    pub fn only_if(mut self, name: &str) -> Self {
        self.only_if = Some(name.to_string());
        self
    }

    pub fn principal(mut self, p: Principal) -> Self {
        self.principal = Some(p);
        self
    }

    pub fn condition(mut self, operator: &str, key: &str, value: Expr) -> Self {
        self.condition
            .entry(operator.to_string())
            .or_default()
            .insert(key.to_string(), value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::s;

    #[test]
    fn a_conditional_statement_is_wrapped_in_fn_if_with_no_value() {
        let doc = PolicyDocument::new(vec![
            Statement::allow("Always", &["kms:Decrypt"], vec![s("*")]),
            Statement::allow("Sometimes", &["kms:Encrypt"], vec![s("*")]).only_if("Cond"),
        ]);
        assert_eq!(
            serde_json::to_value(&doc).unwrap()["Statement"],
            serde_json::json!([
                {"Sid": "Always", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["*"]},
                {"Fn::If": ["Cond",
                    {"Sid": "Sometimes", "Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": ["*"]},
                    {"Ref": "AWS::NoValue"}]},
            ])
        );
    }
}
