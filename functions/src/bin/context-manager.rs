//! `voice-learning-context-manager`: `POST /context`.

use functions::{App, Function};
use lambda_http::{run, service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    functions::telemetry::init();
    // Built once per container; every request reuses the clients and key cache.
    let app = App::from_env(Function::ContextManager).await?;
    run(service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Error>(app.handle(req).await) }
    }))
    .await
}
