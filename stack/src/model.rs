//! The typed CloudFormation template: parameters, conditions, resources,
//! outputs. Serialization is deterministic: sections and resources keep the
//! order the code adds them in, maps inside properties are sorted.

use crate::expr::Expr;
use crate::resources::Properties;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ParameterType {
    String,
    Number,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub kind: ParameterType,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Expr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_echo: bool,
}

impl Parameter {
    pub fn string(description: &str) -> Self {
        Parameter {
            kind: ParameterType::String,
            description: description.to_string(),
            default: None,
            allowed_values: vec![],
            allowed_pattern: None,
            constraint_description: None,
            min_value: None,
            max_value: None,
            min_length: None,
            max_length: None,
            no_echo: false,
        }
    }
    pub fn number(description: &str) -> Self {
        Parameter {
            kind: ParameterType::Number,
            ..Parameter::string(description)
        }
    }
    pub fn default(mut self, v: impl Into<Expr>) -> Self {
        self.default = Some(v.into());
        self
    }
    pub fn allowed_values(mut self, v: &[&str]) -> Self {
        self.allowed_values = v.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn pattern(mut self, pattern: &str, constraint: &str) -> Self {
        self.allowed_pattern = Some(pattern.to_string());
        self.constraint_description = Some(constraint.to_string());
        self
    }
    pub fn range(mut self, min: i64, max: i64) -> Self {
        self.min_value = Some(min);
        self.max_value = Some(max);
        self
    }
    pub fn length(mut self, min: u32, max: u32) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RetentionPolicy {
    Delete,
    Retain,
    Snapshot,
}

/// A resource: typed properties plus the resource-level attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub properties: Properties,
    pub condition: Option<String>,
    pub depends_on: Vec<String>,
    pub deletion_policy: Option<RetentionPolicy>,
    pub update_replace_policy: Option<RetentionPolicy>,
    pub metadata: Option<Value>,
}

impl Resource {
    pub fn new(properties: impl Into<Properties>) -> Self {
        Resource {
            properties: properties.into(),
            condition: None,
            depends_on: vec![],
            deletion_policy: None,
            update_replace_policy: None,
            metadata: None,
        }
    }
    /// DeletionPolicy and UpdateReplacePolicy Retain: the data outlives the stack.
    pub fn retain(mut self) -> Self {
        self.deletion_policy = Some(RetentionPolicy::Retain);
        self.update_replace_policy = Some(RetentionPolicy::Retain);
        self
    }
    /// DeletionPolicy and UpdateReplacePolicy Delete, stated explicitly
    /// (log groups: removed with the stack, as the deployment guide says).
    pub fn delete_with_stack(mut self) -> Self {
        self.deletion_policy = Some(RetentionPolicy::Delete);
        self.update_replace_policy = Some(RetentionPolicy::Delete);
        self
    }
    /// UpdateReplacePolicy Retain, DeletionPolicy Delete: what a
    /// replacement leaves behind stays (a function's earlier versions, which
    /// `rollback` returns to), and goes with the stack.
    pub fn keep_when_replaced(mut self) -> Self {
        self.deletion_policy = Some(RetentionPolicy::Delete);
        self.update_replace_policy = Some(RetentionPolicy::Retain);
        self
    }
    pub fn depends_on(mut self, logical_id: &str) -> Self {
        self.depends_on.push(logical_id.to_string());
        self
    }
    pub fn condition(mut self, name: &str) -> Self {
        self.condition = Some(name.to_string());
        self
    }
    /// Skips a checkov check for this resource, with the reason (listed in docs/stack.md, "Template checks").
    pub fn skip_check(mut self, id: &str, reason: &str) -> Self {
        let meta = self
            .metadata
            .get_or_insert_with(|| serde_json::json!({"checkov": {"skip": []}}));
        meta["checkov"]["skip"]
            .as_array_mut()
            .expect("checkov skip list")
            .push(serde_json::json!({"id": id, "comment": reason}));
        self
    }
    pub fn type_name(&self) -> &'static str {
        self.properties.type_name()
    }
}

impl Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("Type", self.properties.type_name())?;
        if let Some(c) = &self.condition {
            m.serialize_entry("Condition", c)?;
        }
        match self.depends_on.len() {
            0 => {}
            1 => m.serialize_entry("DependsOn", &self.depends_on[0])?,
            _ => m.serialize_entry("DependsOn", &self.depends_on)?,
        }
        if let Some(p) = &self.deletion_policy {
            m.serialize_entry("DeletionPolicy", p)?;
        }
        if let Some(p) = &self.update_replace_policy {
            m.serialize_entry("UpdateReplacePolicy", p)?;
        }
        if let Some(meta) = &self.metadata {
            m.serialize_entry("Metadata", meta)?;
        }
        m.serialize_entry("Properties", &self.properties)?;
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// A whole template. Entries are kept in insertion order (a `Vec`), so a
/// duplicate logical id is representable and caught by validation rather
/// than silently overwritten.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pub description: String,
    pub metadata: Option<Value>,
    pub parameters: Vec<(String, Parameter)>,
    pub conditions: Vec<(String, Expr)>,
    pub resources: Vec<(String, Resource)>,
    pub outputs: Vec<(String, Output)>,
}

impl Template {
    pub fn parameter(&mut self, id: &str, p: Parameter) -> &mut Self {
        self.parameters.push((id.to_string(), p));
        self
    }
    pub fn condition(&mut self, id: &str, c: Expr) -> &mut Self {
        self.conditions.push((id.to_string(), c));
        self
    }
    pub fn resource(&mut self, id: &str, r: Resource) -> &mut Self {
        self.resources.push((id.to_string(), r));
        self
    }
    pub fn output(&mut self, id: &str, description: &str, value: Expr) -> &mut Self {
        self.outputs.push((
            id.to_string(),
            Output {
                description: description.to_string(),
                value,
                condition: None,
            },
        ));
        self
    }

    pub fn get(&self, logical_id: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|(id, _)| id == logical_id)
            .map(|(_, r)| r)
    }

    /// Resources of one CloudFormation type, e.g. `AWS::DynamoDB::Table`.
    pub fn resources_of_type<'a>(
        &'a self,
        type_name: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Resource)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, r)| r.type_name() == type_name)
            .map(|(id, r)| (id.as_str(), r))
    }

    /// The template as a JSON value (sections in CloudFormation's usual order).
    pub fn to_json_value(&self) -> Value {
        let mut root = serde_json::Map::new();
        root.insert("AWSTemplateFormatVersion".into(), Value::from("2010-09-09"));
        root.insert("Description".into(), Value::from(self.description.clone()));
        if let Some(m) = &self.metadata {
            root.insert("Metadata".into(), m.clone());
        }
        fn section<T: Serialize>(entries: &[(String, T)]) -> Value {
            let mut m = serde_json::Map::new();
            for (k, v) in entries {
                m.insert(
                    k.clone(),
                    serde_json::to_value(v).expect("template values serialize"),
                );
            }
            Value::Object(m)
        }
        if !self.parameters.is_empty() {
            root.insert("Parameters".into(), section(&self.parameters));
        }
        if !self.conditions.is_empty() {
            root.insert("Conditions".into(), section(&self.conditions));
        }
        root.insert("Resources".into(), section(&self.resources));
        if !self.outputs.is_empty() {
            root.insert("Outputs".into(), section(&self.outputs));
        }
        Value::Object(root)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_json_value()).expect("json");
        s.push('\n');
        s
    }

    /// YAML (long-form intrinsics, so any YAML parser reads it).
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(&self.to_json_value()).expect("yaml")
    }

    /// Counts of resources by type, sorted by type name.
    pub fn resource_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for (_, r) in &self.resources {
            *m.entry(r.type_name()).or_insert(0) += 1;
        }
        m
    }
}

/// The names a serialized value refers to: every `Ref`, and every
/// variable of a `Fn::Sub` (parameters, resources, pseudo parameters).
pub fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            if let Some(Value::String(name)) = m.get("Ref") {
                out.push(name.clone());
            }
            if let Some(Value::String(template)) = m.get("Fn::Sub") {
                out.extend(
                    crate::expr::sub_variables(template)
                        .into_iter()
                        .map(|v| v.split('.').next().unwrap_or_default().to_string()),
                );
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
