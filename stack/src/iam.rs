//! IAM (and KMS key) policy documents as types.

use crate::expr::Expr;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement")]
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
        }
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
