//! The HTTP API: JWT authorizer, routes, integrations, invoke permissions,
//! stage and access log.

use super::*;

/// The HTTP API's access-log group.
/// The HTTP API's access-log group (`logs --source api` reads it).
pub fn api_access_log_group(n: &Names) -> String {
    format!("/aws/vendedlogs/apigateway/{}", n.api)
}

pub(super) fn http_api(t: &mut Template, n: &Names, functions: &[FunctionSpec]) {
    t.resource(
        HTTP_API,
        Resource::new(HttpApi {
            name: n.api.clone(),
            description: "Voice learning session management API (Cognito JWT)".into(),
            protocol_type: "HTTP".into(),
            cors_configuration: Some(if_(
                C_HAS_CORS,
                map([
                    (
                        "AllowOrigins",
                        Expr::Split(",".into(), Box::new(r#ref(P_CORS_ALLOWED_ORIGINS))),
                    ),
                    ("AllowHeaders", list(cors::ALLOW_HEADERS.map(s))),
                    ("AllowMethods", list(cors::ALLOW_METHODS.map(s))),
                    ("ExposeHeaders", list(cors::EXPOSE_HEADERS.map(s))),
                    ("MaxAge", Expr::Int(cors::MAX_AGE_SECONDS)),
                ]),
                no_value(),
            )),
            tags: None,
        }),
    );
    t.resource(
        AUTHORIZER,
        Resource::new(Authorizer {
            api_id: r#ref(HTTP_API),
            name: "CognitoJwt".into(),
            authorizer_type: "JWT".into(),
            identity_source: vec!["$request.header.Authorization".into()],
            jwt_configuration: JwtConfiguration {
                audience: Expr::Split(",".into(), Box::new(r#ref(P_USER_POOL_CLIENT_ID))),
                // Cognito's issuer names the pool's own region, the prefix of
                // its id (`us-east-1_AbC123xyz`), which need not be the
                // stack's (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html).
                issuer: join(
                    "",
                    vec![
                        s("https://cognito-idp."),
                        Expr::Select(
                            0,
                            Box::new(Expr::Split("_".into(), Box::new(r#ref(P_USER_POOL_ID)))),
                        ),
                        s("."),
                        r#ref("AWS::URLSuffix"),
                        s("/"),
                        r#ref(P_USER_POOL_ID),
                    ],
                ),
            },
        }),
    );
    for f in functions {
        let alias = f.function.alias_id();
        let integration_id = format!("{}Integration", f.function.id_prefix());
        t.resource(
            &integration_id,
            Resource::new(Integration {
                api_id: r#ref(HTTP_API),
                integration_type: "AWS_PROXY".into(),
                integration_uri: r#ref(alias),
                payload_format_version: "2.0".into(),
                timeout_in_millis: (FUNCTION_TIMEOUT_SECONDS + 1) * 1000,
            }),
        );
        t.resource(
            &format!("{}Route", f.function.id_prefix()),
            Resource::new(Route {
                api_id: r#ref(HTTP_API),
                route_key: f.function.route_key().into(),
                authorization_type: "JWT".into(),
                authorizer_id: r#ref(AUTHORIZER),
                // With scopes, the token's `scope` claim must hold one of
                // them, which only access tokens have: id tokens get 403
                // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
                authorization_scopes: Some(if_(
                    C_HAS_ROUTE_SCOPES,
                    Expr::Split(",".into(), Box::new(r#ref(P_ROUTE_SCOPES))),
                    no_value(),
                )),
                target: join("/", vec![s("integrations"), r#ref(&integration_id)]),
            }),
        );
        let path = f.function.path();
        t.resource(
            &format!("{}InvokePermission", f.function.id_prefix()),
            Resource::new(Permission {
                action: "lambda:InvokeFunction".into(),
                function_name: r#ref(alias),
                principal: "apigateway.amazonaws.com".into(),
                source_arn: arn(&format!(
                    "execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{HTTP_API}}}/*/POST{path}"
                )),
            }),
        );
    }
    t.resource(
        "HttpApiAccessLogGroup",
        Resource::new(LogGroup {
            // Access logs are delivered by the logs service, which adds each
            // destination to the account's Logs resource policy (5,120
            // characters at most) unless its name starts with
            // `/aws/vendedlogs/` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html).
            log_group_name: api_access_log_group(n),
            retention_in_days: LOG_RETENTION_DAYS,
            kms_key_id: get_att(KEY, "Arn"),
            tags: None,
        })
        .delete_with_stack(),
    );
    let access_format = serde_json::json!({
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "sub": "$context.authorizer.claims.sub",
    });
    t.resource(
        API_STAGE,
        Resource::new(ApiStage {
            api_id: r#ref(HTTP_API),
            stage_name: "$default".into(),
            auto_deploy: true,
            access_log_settings: AccessLogSettings {
                destination_arn: get_att("HttpApiAccessLogGroup", "Arn"),
                format: access_format.to_string(),
            },
            default_route_settings: RouteSettings {
                throttling_burst_limit: THROTTLE_BURST,
                throttling_rate_limit: THROTTLE_RATE,
                detailed_metrics_enabled: false,
            },
            tags: None,
        }),
    );
}
