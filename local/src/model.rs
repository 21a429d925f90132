//! What `dev` runs, read from the same typed stack model `synth` writes:
//! tables, key, functions (with their environment), routes and authorizer.
//! Intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`) are resolved to
//! local values: moto's account and region, the local key, dev parameters.
use crate::error::{bail, Context, Result};
use serde_json::Value;
use stack::resources::{Function, KmsAlias, KmsKey, Properties, Route, Table};
use stack::{Resource, Template};
use std::collections::BTreeMap;

/// moto's default account id.
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = emulator::TEST_REGION;
/// Stack parameters as `dev` sets them (a Cognito-shaped pool and client id).
pub const USER_POOL_ID: &str = "us-east-1_LocalDev";
pub const USER_POOL_CLIENT_ID: &str = "localdevclient";
/// `dev`'s second app client (the assistant backend's, say): the
/// authorizer accepts tokens of both, as a stage listing several clients does.
pub const SECOND_CLIENT_ID: &str = "localbackendclient";

/// The KMS key resource.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub description: String,
    pub enable_rotation: bool,
    /// The key policy with intrinsics (resolve before use).
    pub policy: Value,
    pub alias: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub name: String,
    /// The cargo bin that implements it.
    pub bin: &'static str,
    pub timeout_ms: u64,
    pub memory_mb: i64,
    pub log_format: String,
    /// Environment variables with intrinsics.
    pub env: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct JwtSpec {
    pub logical_id: String,
    pub issuer: String,
    pub audience: Vec<String>,
    /// e.g. `$request.header.Authorization`
    pub identity_header: String,
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub route_key: String,
    pub method: String,
    pub path: String,
    /// Logical id of the target function.
    pub function: String,
    pub integration_timeout_ms: u64,
    pub payload_format: String,
    pub authorizer: Option<JwtSpec>,
}

#[derive(Debug, Clone)]
pub struct LocalModel {
    pub key: KeySpec,
    pub tables: Vec<(String, Table)>,
    pub functions: Vec<FunctionSpec>,
    pub routes: Vec<RouteSpec>,
}

pub use stack::resolve::Resolver;

/// The HTTP API's CORS configuration as API Gateway holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    /// Lowercase.
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: i64,
}

/// `dev`'s resolver with one more parameter set.
fn resolver_with(t: &Template, param: &str, value: &str) -> Resolver {
    let mut r = resolver_params();
    r.insert(param.to_string(), value.to_string());
    Resolver::new(
        t,
        &stack::resolve::Place::new(ACCOUNT_ID, REGION),
        &r,
        "local-key",
        "arn:aws:kms:local",
    )
}

/// The scopes the route `route_key` requires when a stage sets `scopes`
/// (what `deploy --route-scope` sets): none without scopes, as deployed.
pub fn route_scopes(t: &Template, route_key: &str, scopes: &[String]) -> Result<Vec<String>> {
    let route = t
        .resources_of_type(Route::TYPE)
        .find_map(|(_, r)| match &r.properties {
            Properties::Route(route) if route.route_key == route_key => Some(route),
            _ => None,
        })
        .with_context(|| format!("the template has no route {route_key}"))?;
    let Some(expr) = &route.authorization_scopes else {
        return Ok(vec![]);
    };
    let v = resolver_with(t, stack::module::ids::P_ROUTE_SCOPES, &scopes.join(","))
        .value(expr)
        .with_context(|| format!("route {route_key}'s authorization scopes"))?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect())
}

/// The template's CORS configuration when a stage allows `origins` (what
/// `deploy --cors-origin` sets): `None` without origins, as deployed.
pub fn cors(t: &Template, origins: &[String]) -> Result<Option<CorsSpec>> {
    let Some(Properties::HttpApi(api)) = t
        .resources_of_type(stack::resources::HttpApi::TYPE)
        .next()
        .map(|(_, r)| &r.properties)
    else {
        bail!("the template has no HTTP API");
    };
    let Some(expr) = &api.cors_configuration else {
        return Ok(None);
    };
    let v = resolver_with(
        t,
        stack::module::ids::P_CORS_ALLOWED_ORIGINS,
        &origins.join(","),
    )
    .value(expr)
    .context("the API's CORS configuration")?;
    if v.is_null() {
        return Ok(None);
    }
    let strings = |k: &str| -> Vec<String> {
        v[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    Ok(Some(CorsSpec {
        allow_origins: strings("AllowOrigins"),
        allow_headers: strings("AllowHeaders")
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        allow_methods: strings("AllowMethods"),
        expose_headers: strings("ExposeHeaders"),
        max_age: v["MaxAge"].as_i64().unwrap_or(0),
    }))
}

fn resolver_params() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            stack::module::ids::P_USER_POOL_ID.to_string(),
            USER_POOL_ID.to_string(),
        ),
        (
            stack::module::ids::P_USER_POOL_CLIENT_ID.to_string(),
            format!("{USER_POOL_CLIENT_ID},{SECOND_CLIENT_ID}"),
        ),
    ])
}

/// `dev`'s resolver: moto's account and region, `dev`'s pool and client.
pub fn resolver(t: &Template, key_id: &str, key_arn: &str) -> Resolver {
    Resolver::new(
        t,
        &stack::resolve::Place::new(ACCOUNT_ID, REGION),
        &resolver_params(),
        key_id,
        key_arn,
    )
}

fn props<'a>(t: &'a Template, id: &str) -> Result<&'a Properties> {
    t.get(id)
        .map(|r: &Resource| &r.properties)
        .with_context(|| format!("the template has no resource {id}"))
}

impl LocalModel {
    pub fn synth(stage: Option<&str>) -> Result<(Template, LocalModel)> {
        let t = stack::synth(&stack::StackOptions {
            stage: stage.map(str::to_string),
            ..Default::default()
        })?;
        let m = LocalModel::from_template(&t)?;
        Ok((t, m))
    }

    pub fn from_template(t: &Template) -> Result<Self> {
        // A resolver without the key (routes and the authorizer do not need it).
        let r = resolver(t, "local-key", "arn:aws:kms:local");
        let mut keys = t.resources_of_type(KmsKey::TYPE);
        let (key_id, key_res) = keys.next().context("the template has no KMS key")?;
        if keys.next().is_some() {
            bail!("dev supports one KMS key; the template has more");
        }
        let Properties::KmsKey(k) = &key_res.properties else {
            unreachable!("resources_of_type")
        };
        let alias = t
            .resources_of_type(KmsAlias::TYPE)
            .filter_map(|(_, a)| match &a.properties {
                Properties::KmsAlias(a) if a.target_key_id == stack::expr::r#ref(key_id) => {
                    r.string(&a.alias_name).ok()
                }
                _ => None,
            })
            .next();
        let key = KeySpec {
            description: k.description.clone(),
            enable_rotation: k.enable_key_rotation,
            policy: serde_json::to_value(&k.key_policy).context("the key policy")?,
            alias,
        };
        let tables = t
            .resources_of_type(Table::TYPE)
            .map(|(id, res)| match &res.properties {
                Properties::Table(tb) => (id.to_string(), tb.clone()),
                _ => unreachable!("resources_of_type"),
            })
            .collect();
        let mut functions = vec![];
        for (id, res) in t.resources_of_type(Function::TYPE) {
            let Properties::Function(f) = &res.properties else {
                unreachable!("resources_of_type")
            };
            let bin = stack::Function::ALL
                .iter()
                .find(|f| f.logical_id() == id)
                .map(|f| f.binary())
                .with_context(|| format!("no cargo bin implements the function {id}"))?;
            functions.push(FunctionSpec {
                logical_id: id.to_string(),
                name: f.function_name.clone(),
                bin,
                timeout_ms: u64::try_from(f.timeout).context("a negative timeout")? * 1000,
                memory_mb: r
                    .string(&f.memory_size)
                    .ok()
                    .and_then(|m| m.parse().ok())
                    .context("the function's memory size")?,
                log_format: f.logging_config.log_format.clone(),
                env: f
                    .environment
                    .variables
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            serde_json::to_value(v).context("an environment variable")?,
                        ))
                    })
                    .collect::<Result<_>>()?,
            });
        }
        let mut routes = vec![];
        for (id, res) in t.resources_of_type(Route::TYPE) {
            let Properties::Route(route) = &res.properties else {
                unreachable!("resources_of_type")
            };
            let (method, path) = route.route_key.split_once(' ').with_context(|| {
                format!("route {id}: unsupported route key {}", route.route_key)
            })?;
            let target = r.string(&route.target).context("the route's target")?;
            let integration_id = target
                .strip_prefix("integrations/")
                .with_context(|| format!("route {id}: target {target} is not an integration"))?;
            let Properties::Integration(integ) = props(t, integration_id)? else {
                bail!("route {id}: {integration_id} is not an integration");
            };
            let function = match &integ.integration_uri {
                stack::expr::Expr::GetAtt(f, a) if a == "Arn" => f.clone(),
                // An alias: `dev` runs each function's current code, so the
                // alias stands for its function.
                stack::expr::Expr::Ref(alias) => match props(t, alias)? {
                    Properties::LambdaAlias(a) => match &a.function_name {
                        stack::expr::Expr::Ref(f) => f.clone(),
                        other => bail!("alias {alias}: unsupported function {other:?}"),
                    },
                    _ => {
                        bail!("integration {integration_id} targets {alias}, which is not an alias")
                    }
                },
                other => {
                    bail!("integration {integration_id}: unsupported integration URI {other:?}")
                }
            };
            if !functions.iter().any(|f| f.logical_id == function) {
                bail!("integration {integration_id} targets {function}, which is not a function");
            }
            let authorizer = match route.authorization_type.as_str() {
                "NONE" => None,
                "JWT" => {
                    let auth_id = r
                        .string(&route.authorizer_id)
                        .context("the route's authorizer")?;
                    let Properties::Authorizer(a) = props(t, &auth_id)? else {
                        bail!("route {id}: {auth_id} is not an authorizer");
                    };
                    let header = a
                        .identity_source
                        .first()
                        .and_then(|s| s.strip_prefix("$request.header."))
                        .with_context(|| {
                            format!(
                                "authorizer {auth_id}: only a header identity source is supported"
                            )
                        })?;
                    Some(JwtSpec {
                        logical_id: auth_id.clone(),
                        issuer: r
                            .string(&a.jwt_configuration.issuer)
                            .context("the issuer")?,
                        audience: r
                            .value(&a.jwt_configuration.audience)
                            .context("the audience")?
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                        identity_header: header.to_ascii_lowercase(),
                    })
                }
                other => bail!("route {id}: authorization type {other} is not supported by dev"),
            };
            routes.push(RouteSpec {
                route_key: route.route_key.clone(),
                method: method.to_string(),
                path: path.to_string(),
                function,
                integration_timeout_ms: u64::try_from(integ.timeout_in_millis)
                    .context("a negative integration timeout")?,
                payload_format: integ.payload_format_version.clone(),
                authorizer,
            });
        }
        if routes.is_empty() {
            bail!("the template has no routes");
        }
        Ok(LocalModel {
            key,
            tables,
            functions,
            routes,
        })
    }

    /// The authorizer of the routes (the module has one).
    pub fn jwt(&self) -> Result<&JwtSpec> {
        self.routes
            .iter()
            .find_map(|r| r.authorizer.as_ref())
            .context("no route has a JWT authorizer")
    }
}
