//! `voice-learning-session-persistence`: `POST /sessions`.

use functions::{App, Function};
use lambda_http::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    functions::telemetry::init();
    // Built once per container; every request reuses the clients and key cache.
    let app = App::from_env(Function::SessionPersistence).await?;
    functions::runtime::run(app).await
}
