//! Terminal output for diff, deploy and destroy: colour only on a terminal
//! (and not when `NO_COLOR` is set), a yes/no prompt only on a terminal.
//!
//! Human text goes to stdout, or to stderr when `--json` is given so stdout
//! carries only the JSON result.

use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Green,
    Yellow,
    Bold,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Red => "31",
            Colour::Green => "32",
            Colour::Yellow => "33",
            Colour::Bold => "1",
        }
    }
}

pub struct Ui {
    out: Box<dyn Write>,
    colour: bool,
}

impl Ui {
    /// Human output on stdout (stderr with `json`), coloured when that is a terminal.
    pub fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (out, tty): (Box<dyn Write>, bool) = if json {
            (Box::new(std::io::stderr()), std::io::stderr().is_terminal())
        } else {
            (Box::new(std::io::stdout()), std::io::stdout().is_terminal())
        };
        Ui {
            out,
            colour: tty && !no_color,
        }
    }

    /// Output into a buffer, no colour (tests).
    #[cfg(test)]
    pub fn capture(buf: std::rc::Rc<std::cell::RefCell<Vec<u8>>>) -> Self {
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        Ui {
            out: Box::new(Shared(buf)),
            colour: false,
        }
    }

    pub fn paint(&self, c: Colour, text: &str) -> String {
        if self.colour {
            format!("\x1b[{}m{text}\x1b[0m", c.code())
        } else {
            text.to_string()
        }
    }

    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    pub fn blank(&mut self) {
        self.line("");
    }

    pub fn heading(&mut self, text: &str) {
        let t = self.paint(Colour::Bold, text);
        self.line(&t);
    }

    pub fn warn(&mut self, text: &str) {
        let t = self.paint(Colour::Yellow, &format!("warning: {text}"));
        self.line(&t);
    }

    pub fn print_json(value: &serde_json::Value) {
        println!("{}", serde_json::to_string_pretty(value).expect("json"));
    }
}

/// What an approval question got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Yes,
    No,
    /// Standard input is not a terminal: nobody can answer.
    NoTerminal,
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

/// A plain-text table (`|` and `-`), readable in a terminal and in a CI log.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| wrap(c, CELL_WIDTH)).collect())
        .collect();
    let cols = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, cell) in r.iter().enumerate().take(cols) {
            for l in cell.lines() {
                width[i] = width[i].max(l.chars().count());
            }
        }
    }
    let sep = format!(
        "+{}+",
        width
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let fmt_row = |cells: &[String]| -> Vec<String> {
        let height = cells
            .iter()
            .map(|c| c.lines().count().max(1))
            .max()
            .unwrap_or(1);
        (0..height)
            .map(|li| {
                let parts: Vec<String> = (0..cols)
                    .map(|i| {
                        let l = cells.get(i).and_then(|c| c.lines().nth(li)).unwrap_or("");
                        format!(" {l}{} ", " ".repeat(width[i] - l.chars().count()))
                    })
                    .collect();
                format!("|{}|", parts.join("|"))
            })
            .collect()
    };
    let mut out = vec![sep.clone()];
    out.extend(fmt_row(
        &headers.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    ));
    out.push(sep.clone());
    for r in &rows {
        out.extend(fmt_row(r));
    }
    out.push(sep);
    out
}

/// Table cells wrap at this many characters.
const CELL_WIDTH: usize = 72;

/// Breaks lines longer than `width` characters (colour codes count, so
/// coloured cells are kept short by their callers).
fn wrap(text: &str, width: usize) -> String {
    let mut out = vec![];
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        if chars.len() <= width || line.contains('\x1b') {
            out.push(line.to_string());
            continue;
        }
        for (i, chunk) in chars.chunks(width).enumerate() {
            let s: String = chunk.iter().collect();
            out.push(if i == 0 { s } else { format!("  {s}") });
        }
    }
    out.join("\n")
}

/// Shortens a long value for one line of output.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
