//! The HTTP API: the stack's API (its physical id is the API id, the `Ref`
//! of AWS::ApiGatewayV2::Api), a JWT authorizer with a Cognito issuer, and
//! every modelled route behind it.
//!
//! The API is matched on ApiId, never on its name (another stage or a
//! look-alike can share it), across every page of GetApis: an account can
//! hold more APIs than one page returns. GetApis, GetAuthorizers and
//! GetRoutes page with `nextToken`:
//! https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis.html

use super::check::{call_failed, Check};
use super::resources::StackResources;
use aws_sdk_apigatewayv2::types::{Api, AuthorizationType, AuthorizerType};
use stack::module::ids;
use stack::resources::Properties;

/// Looks for `api_id` on every page of GetApis: `Ok(None)` when no page has it.
pub async fn find_api(
    client: &aws_sdk_apigatewayv2::Client,
    api_id: &str,
) -> Result<(Option<Api>, usize), Check> {
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .get_apis()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| call_failed(format!("HTTP API {api_id}"), "apigateway:GET /apis", &e))?;
        pages += 1;
        if let Some(api) = page.items().iter().find(|a| a.api_id() == Some(api_id)) {
            return Ok((Some(api.clone()), pages));
        }
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        // A token seen again would loop forever; a hundred pages is far past any account.
        if token.is_none() || pages >= 100 {
            return Ok((None, pages));
        }
    }
}

/// The API's CORS configuration against the stage's origins (the stack's
/// `CorsAllowedOrigins`, `None` when it could not be read): none without
/// origins; with them, exactly those origins and the module's headers,
/// methods and max age (`stack::module::cors`).
pub fn cors_check(api: &Api, stage_origins: Option<&str>) -> Check {
    use stack::module::cors;
    let name = "CORS (browser origins)";
    let Some(wanted) = stage_origins else {
        return Check::fail(
            name,
            "the stack's CorsAllowedOrigins parameter could not be read (DescribeStacks)",
        );
    };
    let mut wanted: Vec<&str> = wanted.split(',').filter(|o| !o.is_empty()).collect();
    wanted.sort_unstable();
    let Some(c) = api.cors_configuration() else {
        return if wanted.is_empty() {
            Check::ok(name, "off: no browser origin may call the API")
        } else {
            Check::fail(
                name,
                format!(
                    "the API has no CORS configuration, the stage allows {}: browsers are refused; `cargo xtask deploy` sets it again",
                    wanted.join(", ")
                ),
            )
        };
    };
    let mut origins: Vec<&str> = c.allow_origins().iter().map(String::as_str).collect();
    origins.sort_unstable();
    let mut headers: Vec<String> = c
        .allow_headers()
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    headers.sort_unstable();
    let mut methods: Vec<&str> = c.allow_methods().iter().map(String::as_str).collect();
    methods.sort_unstable();
    let mut want_headers: Vec<String> = cors::ALLOW_HEADERS.map(String::from).to_vec();
    want_headers.sort_unstable();
    let mut want_methods = cors::ALLOW_METHODS.to_vec();
    want_methods.sort_unstable();
    let mut differences = vec![];
    if origins != wanted {
        differences.push(format!(
            "origins [{}], the stage allows [{}]",
            origins.join(", "),
            wanted.join(", ")
        ));
    }
    if headers != want_headers {
        differences.push(format!("headers [{}]", headers.join(", ")));
    }
    if methods != want_methods {
        differences.push(format!("methods [{}]", methods.join(", ")));
    }
    if c.max_age() != Some(cors::MAX_AGE_SECONDS as i32) {
        differences.push(format!("max age {:?}", c.max_age()));
    }
    if differences.is_empty() {
        Check::ok(
            name,
            format!(
                "{} (max age {} s)",
                origins.join(", "),
                cors::MAX_AGE_SECONDS
            ),
        )
    } else {
        Check::fail(
            name,
            format!(
                "changed outside the stack: {}; `cargo xtask deploy` sets it again",
                differences.join("; ")
            ),
        )
    }
}

pub async fn verify_api(
    client: &aws_sdk_apigatewayv2::Client,
    resources: &StackResources,
    template: &stack::Template,
    stage_origins: Option<&str>,
) -> Vec<Check> {
    let Some(api_id) = resources.physical_id(ids::HTTP_API) else {
        return vec![Check::fail(
            "HTTP API",
            format!(
                "the stack has no {} resource (some emulators skip API Gateway resources)",
                ids::HTTP_API
            ),
        )];
    };
    let name = format!("HTTP API {api_id}");
    let api = match find_api(client, api_id).await {
        Ok((Some(api), _)) => api,
        Ok((None, pages)) => {
            return vec![Check::fail(
                name,
                format!(
                    "the stack's API is not among the account's APIs ({pages} page(s) of GetApis): deleted outside the stack? `cargo xtask deploy` recreates it"
                ),
            )]
        }
        Err(c) => return vec![c],
    };
    let mut out = vec![Check::ok(
        name,
        format!(
            "{} ({})",
            api.name().unwrap_or("?"),
            api.protocol_type().map_or("?", |p| p.as_str())
        ),
    )];

    out.push(cors_check(&api, stage_origins));

    let mut jwt_ids: Vec<String> = vec![];
    let mut token: Option<String> = None;
    let authorizers_ok = loop {
        match client
            .get_authorizers()
            .api_id(api_id)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(page) => {
                jwt_ids.extend(
                    page.items()
                        .iter()
                        .filter(|z| z.authorizer_type() == Some(&AuthorizerType::Jwt))
                        .filter(|z| {
                            z.jwt_configuration()
                                .and_then(|j| j.issuer())
                                .is_some_and(|i| i.starts_with("https://cognito-idp."))
                        })
                        .filter_map(|z| z.authorizer_id().map(str::to_string)),
                );
                token = page
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() {
                    break true;
                }
            }
            Err(e) => {
                out.push(call_failed(
                    "JWT authorizer with a Cognito issuer",
                    "apigateway:GET /apis/{id}/authorizers",
                    &e,
                ));
                break false;
            }
        }
    };
    if authorizers_ok {
        out.push(Check::ok_if(
            "JWT authorizer with a Cognito issuer",
            !jwt_ids.is_empty(),
            if jwt_ids.is_empty() {
                "the API has no JWT authorizer: every route would be open".to_string()
            } else {
                jwt_ids.join(", ")
            },
        ));
    }

    let mut routes = vec![];
    let mut token: Option<String> = None;
    let routes_error = loop {
        match client
            .get_routes()
            .api_id(api_id)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(page) => {
                routes.extend(page.items().iter().cloned());
                token = page
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() {
                    break None;
                }
            }
            Err(e) => break Some(e),
        }
    };
    for (_, r) in template.resources_of_type(stack::resources::Route::TYPE) {
        let Properties::Route(model) = &r.properties else {
            continue;
        };
        let name = format!("route {} behind the JWT authorizer", model.route_key);
        if let Some(e) = &routes_error {
            out.push(call_failed(name, "apigateway:GET /apis/{id}/routes", e));
            continue;
        }
        let route = routes
            .iter()
            .find(|x| x.route_key() == Some(model.route_key.as_str()));
        out.push(match route {
            None => Check::fail(name, "no such route"),
            Some(x) => Check::ok_if(
                name,
                x.authorization_type() == Some(&AuthorizationType::Jwt)
                    && x.authorizer_id()
                        .is_some_and(|id| jwt_ids.iter().any(|j| j == id)),
                format!(
                    "{} {}",
                    x.authorization_type().map_or("NONE", |t| t.as_str()),
                    x.authorizer_id().unwrap_or("")
                ),
            ),
        });
    }
    out
}
