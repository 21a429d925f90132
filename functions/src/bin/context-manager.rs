//! `voice-learning-context-manager`: `POST /context`.

use functions::Function;
use lambda_http::Error;

fn main() -> Result<(), Error> {
    functions::runtime::main(Function::ContextManager)
}
