//! The gateway's mapping of function answers and query strings.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Response;
use local::gateway::{map_response, percent_decode};

async fn body(r: Response<Full<Bytes>>) -> (u16, String, hyper::HeaderMap) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let b = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(b.to_vec()).unwrap(), headers)
}

#[tokio::test]
async fn responses_map_like_api_gateway() {
    let (s, b, h) = body(map_response(
        br#"{"statusCode":201,"headers":{"content-type":"application/json","x-a":"1"},"body":"{\"ok\":true}","cookies":["a=b"]}"#,
    ))
    .await;
    assert_eq!((s, b.as_str()), (201, r#"{"ok":true}"#));
    assert_eq!(h["x-a"], "1");
    assert_eq!(h["set-cookie"], "a=b");
    let (s, b, _) = body(map_response(
        br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
    ))
    .await;
    assert_eq!((s, b.as_str()), (200, "hi"));
    let (s, b, h) = body(map_response(br#"{"hello":"world"}"#)).await;
    assert_eq!((s, b.as_str()), (200, r#"{"hello":"world"}"#));
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(body(map_response(b"not json")).await.0, 502);
    assert_eq!(body(map_response(br#"{"statusCode":"abc"}"#)).await.0, 502);
}

#[test]
fn query_strings_decode() {
    assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
    assert_eq!(percent_decode("%E2%9C%93"), "✓");
}
