//! The terminal: colour only on a terminal (and not with `NO_COLOR`), a
//! yes/no prompt only on a terminal. Human text goes to
//! stdout, or to stderr with `--json` so stdout carries only the JSON.

use deploy::report::{Approval, Approver, Report, Style, Text};
use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};

/// Where the human text goes and whether it is painted.
pub struct Terminal {
    out: Box<dyn Write>,
    colour: bool,
    json: bool,
    /// A new stack's plan in full (`deploy --details`).
    pub details: bool,
}

impl Terminal {
    /// Human output on stdout (stderr with `json`), coloured when that is a terminal.
    pub fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (out, tty): (Box<dyn Write>, bool) = if json {
            (Box::new(std::io::stderr()), std::io::stderr().is_terminal())
        } else {
            (Box::new(std::io::stdout()), std::io::stdout().is_terminal())
        };
        Terminal {
            out,
            colour: tty && !no_color,
            json,
            details: false,
        }
    }

    /// `text` in `style` (ANSI colours when painting).
    pub fn paint(&self, style: Style, text: &str) -> String {
        let code = match style {
            Style::Plain => return text.to_string(),
            Style::Good => "32",
            Style::Bad => "31",
            Style::Caution => "33",
            Style::Strong => "1",
        };
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn text(&self, t: &Text) -> String {
        t.0.iter().map(|(s, x)| self.paint(*s, x)).collect()
    }

    pub fn print(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

impl Report for Terminal {
    fn line(&mut self, text: Text) {
        let l = self.text(&text);
        self.print(&l);
    }
    fn plan(&mut self, plan: &cfn_plan::Plan) {
        for t in crate::render::plan(plan, self.details) {
            self.line(t);
        }
    }
    fn result(&mut self, doc: serde_json::Value) {
        if self.json {
            crate::output::result(doc);
        }
    }
}

/// Asks on the terminal, on a thread of its own (reading stdin blocks).
pub struct Prompt;

impl Approver for Prompt {
    fn approve(&mut self, question: &str) -> impl Future<Output = Approval> {
        let q = question.to_string();
        async move {
            tokio::task::spawn_blocking(move || confirm(&q))
                .await
                .unwrap_or(Approval::No)
        }
    }
}

/// Asks `question (y/n)` on the terminal; only "y" or "yes" approves.
pub fn confirm(question: &str) -> Approval {
    if !std::io::stdin().is_terminal() {
        return Approval::NoTerminal;
    }
    eprint!("{question} (y/n) ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return Approval::No;
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Approval::Yes,
        _ => Approval::No,
    }
}
