//! Resolves the intrinsic functions of a synthesized template to concrete
//! values for one account and region: `cargo xtask dev` provisions from it,
//! and the access-evaluation tests read the policies through it.
//!
//! Physical names come from the typed resources (tables, functions, roles
//! and log groups are named in this stack); the key's id and ARN are given,
//! since AWS makes them. Conditions are evaluated with the parameter values
//! given (else their defaults), so `Fn::If` and `AWS::NoValue` resolve as
//! CloudFormation would deploy them.

use crate::expr::Expr;
use crate::resources::Properties;
use crate::Template;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("no value for Ref {0}")]
    NoRef(String),
    #[error("no value for Fn::GetAtt {0}.{1}")]
    NoAtt(String, String),
    #[error("{0} is malformed: {1}")]
    Malformed(&'static str, String),
    #[error("{0} cannot be resolved here")]
    Unsupported(String),
    #[error("condition {0} is not defined or cannot be evaluated")]
    NoCondition(String),
}

/// Where the template is resolved: account, region, partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub account: String,
    pub region: String,
    pub partition: String,
    pub stack_name: String,
}

impl Place {
    pub fn new(account: &str, region: &str) -> Self {
        Place {
            account: account.into(),
            region: region.into(),
            partition: crate::partition::Partition::of(region)
                .map_or("aws", |p| p.id)
                .into(),
            stack_name: "local".into(),
        }
    }

    /// `AWS::StackId` for a stack that CloudFormation did not make (dev):
    /// the stack name's ARN with a fixed id.
    pub fn stack_id(&self) -> String {
        self.arn(
            "cloudformation",
            &format!(
                "stack/{}/00000000-0000-0000-0000-000000000000",
                self.stack_name
            ),
        )
    }

    /// `AWS::URLSuffix` in this place's partition.
    pub fn url_suffix(&self) -> &'static str {
        crate::partition::PARTITIONS
            .iter()
            .find(|p| p.id == self.partition)
            .map_or("amazonaws.com", |p| p.dns_suffix)
    }

    /// `arn:<partition>:<service>:<region>:<account>:<rest>`.
    pub fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.partition, self.region, self.account
        )
    }

    /// IAM ARNs have no region.
    pub fn iam_arn(&self, rest: &str) -> String {
        format!("arn:{}:iam::{}:{rest}", self.partition, self.account)
    }
}

/// The function name behind a `Ref` to a function of `t`.
fn function_name_of(t: &Template, function: &Expr) -> String {
    let Expr::Ref(id) = function else {
        return String::new();
    };
    t.resources
        .iter()
        .find_map(|(rid, r)| match &r.properties {
            Properties::Function(f) if rid == id => Some(f.function_name.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Values of `Ref` and `Fn::GetAtt` for one template at one [`Place`].
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    refs: HashMap<String, String>,
    atts: HashMap<(String, String), String>,
    /// The template's conditions under these parameter values.
    conditions: HashMap<String, bool>,
}

impl Resolver {
    /// Every pseudo parameter, parameter (given in `params`, else its
    /// default) and named resource of `t`, with the key's id and ARN as given.
    pub fn new(
        t: &Template,
        place: &Place,
        params: &BTreeMap<String, String>,
        key_id: &str,
        key_arn: &str,
    ) -> Self {
        let mut r = Resolver::default();
        for (k, v) in [
            ("AWS::Region", place.region.as_str()),
            ("AWS::AccountId", place.account.as_str()),
            ("AWS::Partition", place.partition.as_str()),
            ("AWS::URLSuffix", place.url_suffix()),
            ("AWS::StackName", place.stack_name.as_str()),
        ] {
            r.refs.insert(k.into(), v.into());
        }
        r.refs.insert("AWS::StackId".into(), place.stack_id());
        for (id, p) in &t.parameters {
            if let Some(v) = params.get(id) {
                r.refs.insert(id.clone(), v.clone());
            } else if let Some(Expr::Str(d)) = &p.default {
                r.refs.insert(id.clone(), d.clone());
            } else if let Some(Expr::Int(d)) = &p.default {
                r.refs.insert(id.clone(), d.to_string());
            }
        }
        for (id, res) in &t.resources {
            let (reference, arn_att) = match &res.properties {
                Properties::Table(tb) => (
                    tb.table_name.clone(),
                    Some(place.arn("dynamodb", &format!("table/{}", tb.table_name))),
                ),
                Properties::Function(f) => (
                    f.function_name.clone(),
                    Some(place.arn("lambda", &format!("function:{}", f.function_name))),
                ),
                Properties::KmsKey(_) => (key_id.to_string(), Some(key_arn.to_string())),
                Properties::Role(role) => (
                    role.role_name.clone(),
                    Some(place.iam_arn(&format!("role/{}", role.role_name))),
                ),
                Properties::LogGroup(g) => (
                    g.log_group_name.clone(),
                    Some(place.arn("logs", &format!("log-group:{}:*", g.log_group_name))),
                ),
                // A version's Ref is its qualified ARN; an alias's its ARN
                // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-version.html#aws-resource-lambda-version-return-values).
                // The first deploy publishes version 1.
                Properties::LambdaVersion(v) => {
                    let function = function_name_of(t, &v.function_name);
                    r.atts.insert((id.clone(), "Version".into()), "1".into());
                    (place.arn("lambda", &format!("function:{function}:1")), None)
                }
                Properties::LambdaAlias(a) => {
                    let function = function_name_of(t, &a.function_name);
                    let arn = place.arn("lambda", &format!("function:{function}:{}", a.name));
                    (arn.clone(), Some(arn))
                }
                // API Gateway ids and the rest: the logical id stands in.
                _ => (id.clone(), None),
            };
            r.refs.insert(id.clone(), reference);
            if let Some(a) = arn_att {
                r.atts.insert((id.clone(), "Arn".into()), a);
            }
        }
        let defined: HashMap<&str, Value> = t
            .conditions
            .iter()
            .map(|(k, c)| {
                (
                    k.as_str(),
                    serde_json::to_value(c).expect("conditions serialize"),
                )
            })
            .collect();
        for name in defined.keys() {
            // A condition that cannot be evaluated stays unknown: an
            // `Fn::If` on it is then an error, never a guess.
            if let Ok(v) = r.eval_condition(name, &defined, 0) {
                r.conditions.insert(name.to_string(), v);
            }
        }
        r
    }

    /// The value of template condition `name`, if it could be evaluated.
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    fn eval_condition(
        &self,
        name: &str,
        defined: &HashMap<&str, Value>,
        depth: usize,
    ) -> Result<bool, ResolveError> {
        let v = defined
            .get(name)
            .ok_or_else(|| ResolveError::NoCondition(name.to_string()))?;
        self.eval(v, defined, depth + 1)
    }

    /// `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `{"Condition": name}`.
    fn eval(
        &self,
        v: &Value,
        defined: &HashMap<&str, Value>,
        depth: usize,
    ) -> Result<bool, ResolveError> {
        if depth > 32 {
            return Err(malformed("a condition", v));
        }
        let Some((op, arg)) = v
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
        else {
            return Err(malformed("a condition", v));
        };
        let items = || arg.as_array().ok_or_else(|| malformed("a condition", arg));
        match op.as_str() {
            "Condition" => {
                let n = arg.as_str().ok_or_else(|| malformed("Condition", arg))?;
                self.eval_condition(n, defined, depth)
            }
            "Fn::Equals" => match items()?.as_slice() {
                [a, b] => Ok(self.string_of(a)? == self.string_of(b)?),
                _ => Err(malformed("Fn::Equals", arg)),
            },
            "Fn::Not" => match items()?.as_slice() {
                [c] => Ok(!self.eval(c, defined, depth + 1)?),
                _ => Err(malformed("Fn::Not", arg)),
            },
            "Fn::And" => {
                let mut all = true;
                for c in items()? {
                    all &= self.eval(c, defined, depth + 1)?;
                }
                Ok(all)
            }
            "Fn::Or" => {
                let mut any = false;
                for c in items()? {
                    any |= self.eval(c, defined, depth + 1)?;
                }
                Ok(any)
            }
            other => Err(ResolveError::Unsupported(other.to_string())),
        }
    }

    /// Resolves every intrinsic inside a serialized value. `Fn::If` takes
    /// the branch of its condition; `AWS::NoValue` removes the list item or
    /// map entry holding it (a whole value of it resolves to `null`).
    pub fn resolve(&self, v: &Value) -> Result<Value, ResolveError> {
        Ok(self.resolve_opt(v)?.unwrap_or(Value::Null))
    }

    /// `None`: `AWS::NoValue`.
    fn resolve_opt(&self, v: &Value) -> Result<Option<Value>, ResolveError> {
        Ok(Some(match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Some(x) = self.resolve_opt(i)? {
                        out.push(x);
                    }
                }
                Value::Array(out)
            }
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                match k.as_str() {
                    "Ref" if arg.as_str() == Some("AWS::NoValue") => return Ok(None),
                    "Fn::If" => match arg.as_array().map(Vec::as_slice) {
                        Some([Value::String(c), then, otherwise]) => {
                            let holds = self
                                .condition(c)
                                .ok_or_else(|| ResolveError::NoCondition(c.clone()))?;
                            return self.resolve_opt(if holds { then } else { otherwise });
                        }
                        _ => return Err(malformed("Fn::If", arg)),
                    },
                    "Ref" => Value::String(
                        self.lookup_ref(arg.as_str().ok_or_else(|| malformed("Ref", arg))?)?,
                    ),
                    "Fn::GetAtt" => match arg.as_array().map(Vec::as_slice) {
                        Some([Value::String(res), Value::String(att)]) => {
                            Value::String(self.lookup_att(res, att)?)
                        }
                        _ => return Err(malformed("Fn::GetAtt", arg)),
                    },
                    "Fn::Sub" => Value::String(match arg {
                        Value::String(s) => self.sub(s, &HashMap::new())?,
                        // [template, {name: value}]
                        Value::Array(parts) => match parts.as_slice() {
                            [Value::String(s), Value::Object(vars)] => {
                                let mut local = HashMap::new();
                                for (name, e) in vars {
                                    local.insert(name.clone(), self.string_of(e)?);
                                }
                                self.sub(s, &local)?
                            }
                            _ => return Err(malformed("Fn::Sub", arg)),
                        },
                        _ => return Err(malformed("Fn::Sub", arg)),
                    }),
                    "Fn::Join" => match arg.as_array().map(Vec::as_slice) {
                        Some([Value::String(sep), Value::Array(list)]) => {
                            let strs = list
                                .iter()
                                .map(|i| self.string_of(i))
                                .collect::<Result<Vec<_>, _>>()?;
                            Value::String(strs.join(sep))
                        }
                        _ => return Err(malformed("Fn::Join", arg)),
                    },
                    "Fn::Split" => match arg.as_array().map(Vec::as_slice) {
                        Some([Value::String(sep), value]) => Value::Array(
                            self.string_of(value)?
                                .split(sep.as_str())
                                .map(|p| Value::String(p.to_string()))
                                .collect(),
                        ),
                        _ => return Err(malformed("Fn::Split", arg)),
                    },
                    "Fn::Select" => match arg.as_array().map(Vec::as_slice) {
                        Some([index, list]) => {
                            let i = index
                                .as_u64()
                                .or_else(|| index.as_str().and_then(|s| s.parse().ok()))
                                .ok_or_else(|| malformed("Fn::Select", arg))?;
                            match self.resolve(list)? {
                                Value::Array(items) => items
                                    .get(i as usize)
                                    .cloned()
                                    .ok_or_else(|| malformed("Fn::Select", arg))?,
                                _ => return Err(malformed("Fn::Select", arg)),
                            }
                        }
                        _ => return Err(malformed("Fn::Select", arg)),
                    },
                    other if other.starts_with("Fn::") || other == "Condition" => {
                        return Err(ResolveError::Unsupported(other.to_string()))
                    }
                    _ => self.resolve_map(m)?,
                }
            }
            Value::Object(m) => self.resolve_map(m)?,
            other => other.clone(),
        }))
    }

    /// Resolves an expression that must give a string.
    pub fn string(&self, e: &impl serde::Serialize) -> Result<String, ResolveError> {
        let v = serde_json::to_value(e)
            .map_err(|e| ResolveError::Malformed("expression", e.to_string()))?;
        self.string_of(&v)
    }

    /// Resolves any serializable expression to a JSON value.
    pub fn value(&self, e: &impl serde::Serialize) -> Result<Value, ResolveError> {
        let v = serde_json::to_value(e)
            .map_err(|e| ResolveError::Malformed("expression", e.to_string()))?;
        self.resolve(&v)
    }

    fn string_of(&self, v: &Value) -> Result<String, ResolveError> {
        match self.resolve(v)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(ResolveError::Malformed("a string", other.to_string())),
        }
    }

    fn resolve_map(&self, m: &serde_json::Map<String, Value>) -> Result<Value, ResolveError> {
        let mut out = serde_json::Map::new();
        for (k, v) in m {
            if let Some(x) = self.resolve_opt(v)? {
                out.insert(k.clone(), x);
            }
        }
        Ok(Value::Object(out))
    }

    fn lookup_ref(&self, name: &str) -> Result<String, ResolveError> {
        self.refs
            .get(name)
            .cloned()
            .ok_or_else(|| ResolveError::NoRef(name.to_string()))
    }

    fn lookup_att(&self, res: &str, att: &str) -> Result<String, ResolveError> {
        self.atts
            .get(&(res.to_string(), att.to_string()))
            .cloned()
            .ok_or_else(|| ResolveError::NoAtt(res.to_string(), att.to_string()))
    }

    fn sub(&self, template: &str, local: &HashMap<String, String>) -> Result<String, ResolveError> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| ResolveError::Malformed("Fn::Sub", template.to_string()))?;
            let var = after[..end].trim();
            if let Some(lit) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else if let Some(v) = local.get(var) {
                out.push_str(v);
            } else if let Some((res, att)) = var.split_once('.') {
                out.push_str(&self.lookup_att(res, att)?);
            } else {
                out.push_str(&self.lookup_ref(var)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn malformed(what: &'static str, arg: &Value) -> ResolveError {
    ResolveError::Malformed(what, arg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolver() -> Resolver {
        let t = crate::synth(&Default::default()).unwrap();
        let params = BTreeMap::from([("UserPoolId".to_string(), "eu-west-1_Pool".to_string())]);
        Resolver::new(
            &t,
            &Place::new("111122223333", "us-east-2"),
            &params,
            "kid",
            "arn:aws:kms:us-east-2:111122223333:key/kid",
        )
    }

    #[test]
    fn conditions_follow_the_parameters_and_no_value_removes_what_holds_it() {
        let t = crate::synth(&Default::default()).unwrap();
        let with = |params: &[(&str, &str)]| {
            let p = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Resolver::new(
                &t,
                &Place::new("111122223333", "us-east-2"),
                &p,
                "k",
                "arn:k",
            )
        };
        let off = with(&[]);
        assert_eq!(off.condition("BackupEnabled"), Some(false));
        assert_eq!(off.condition("BudgetEnabled"), Some(false));
        assert_eq!(off.condition("NoSuchCondition"), None);
        let on = with(&[
            ("BackupRetentionDays", "7"),
            ("MonthlyBudgetUsd", "10"),
            ("AlarmEmail", "a@b.co"),
        ]);
        assert_eq!(on.condition("BackupEnabled"), Some(true));
        assert_eq!(on.condition("BudgetEnabled"), Some(true));
        // `Fn::And` with `{"Condition": …}`: no e-mail, no budget.
        let no_email = with(&[("MonthlyBudgetUsd", "10")]);
        assert_eq!(no_email.condition("BudgetEnabled"), Some(false));

        let v = json!({
            "List": ["a", {"Fn::If": ["BackupEnabled", "b", {"Ref": "AWS::NoValue"}]}],
            "Key": {"Fn::If": ["BackupEnabled", "on", {"Ref": "AWS::NoValue"}]},
        });
        assert_eq!(off.resolve(&v).unwrap(), json!({"List": ["a"]}));
        assert_eq!(
            on.resolve(&v).unwrap(),
            json!({"List": ["a", "b"], "Key": "on"})
        );
        assert_eq!(
            off.resolve(&json!({"Fn::If": ["NoSuchCondition", 1, 2]})),
            Err(ResolveError::NoCondition("NoSuchCondition".into()))
        );
    }

    #[test]
    fn refs_atts_and_subs_resolve_to_physical_values() {
        let r = resolver();
        assert_eq!(
            r.resolve(&json!({"Fn::GetAtt": ["SessionsTable", "Arn"]}))
                .unwrap(),
            json!("arn:aws:dynamodb:us-east-2:111122223333:table/voice-learning-sessions")
        );
        assert_eq!(
            r.resolve(&json!({"Fn::Sub": "${SessionsTable.Arn}/index/X in ${AWS::Region}"}))
                .unwrap(),
            json!("arn:aws:dynamodb:us-east-2:111122223333:table/voice-learning-sessions/index/X in us-east-2")
        );
        assert_eq!(
            r.resolve(&json!({"Fn::Sub": ["a-${R}-${!Lit}", {"R": {"Fn::Select": [0, {"Fn::Split": ["_", {"Ref": "UserPoolId"}]}]}}]}))
                .unwrap(),
            json!("a-eu-west-1-${Lit}")
        );
        assert_eq!(
            r.resolve(&json!({"Ref": "Nope"})),
            Err(ResolveError::NoRef("Nope".into()))
        );
        assert_eq!(
            r.resolve(&json!({"Fn::ImportValue": "x"})),
            Err(ResolveError::Unsupported("Fn::ImportValue".into()))
        );
    }
}
