//! API Gateway HTTP API payload format 2.0, as a Lambda function sees it:
//! the event for a request ([`Request::to_event`]) and how the function's
//! answer maps back to HTTP ([`parse_response`]). One copy for the local
//! gateway of `dev` and for `verify`'s smoke test, which invokes the
//! deployed functions with the event the real gateway would send.
//!
//! Format: <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>

pub mod request;
pub mod response;
pub mod time;

pub use request::{Request, RequestContext};
pub use response::{parse_response, Parsed, Response};
