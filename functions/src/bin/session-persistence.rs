//! `voice-learning-session-persistence`: `POST /sessions`.

use functions::Function;
use lambda_http::Error;

fn main() -> Result<(), Error> {
    functions::runtime::main(Function::SessionPersistence)
}
