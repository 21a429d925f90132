//! What the engine tells its user and asks them, without a terminal: lines
//! of styled text, the plan and the machine-readable result go to a
//! [`Report`]; questions go to an [`Approver`]. The CLI paints and prompts;
//! tests capture ([`Captured`]) and answer with a closure.

use cfn_plan::Plan;
use std::future::Future;

/// What a piece of text means; the terminal picks the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// Done, added, ok.
    Good,
    /// Failed, removed, refused.
    Bad,
    /// Modified, rolling back, a warning.
    Caution,
    /// A heading.
    Strong,
}

/// One line: runs of text, each with its style.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub Vec<(Style, String)>);

impl Text {
    pub fn plain(s: impl Into<String>) -> Text {
        Text::styled(Style::Plain, s)
    }

    pub fn styled(style: Style, s: impl Into<String>) -> Text {
        Text(vec![(style, s.into())])
    }

    /// This text followed by `s` in `style`.
    pub fn then(mut self, style: Style, s: impl Into<String>) -> Text {
        self.0.push((style, s.into()));
        self
    }

    /// The text without its styles.
    pub fn plain_text(&self) -> String {
        self.0.iter().map(|(_, s)| s.as_str()).collect()
    }
}

/// Where the engine's human output and result go.
pub trait Report {
    fn line(&mut self, text: Text);
    /// The plan of a deploy, before it is approved (the CLI renders it).
    fn plan(&mut self, plan: &Plan);
    /// The machine-readable result (printed with `--json`).
    fn result(&mut self, doc: serde_json::Value);

    fn say(&mut self, s: &str) {
        self.line(Text::plain(s));
    }
    fn blank(&mut self) {
        self.line(Text::plain(""));
    }
    fn heading(&mut self, s: &str) {
        self.line(Text::styled(Style::Strong, s));
    }
    fn warn(&mut self, s: &str) {
        self.line(Text::styled(Style::Caution, format!("warning: {s}")));
    }
}

/// Everything reported, unstyled (tests).
#[derive(Debug, Default)]
pub struct Captured {
    pub lines: Vec<String>,
    pub plans: Vec<Plan>,
    pub results: Vec<serde_json::Value>,
}

impl Captured {
    /// The lines, one per line.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

impl Report for Captured {
    fn line(&mut self, text: Text) {
        self.lines.push(text.plain_text());
    }
    fn plan(&mut self, plan: &Plan) {
        self.plans.push(plan.clone());
    }
    fn result(&mut self, doc: serde_json::Value) {
        self.results.push(doc);
    }
}

/// What an approval question got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Yes,
    No,
    /// Nobody can answer (standard input is not a terminal).
    NoTerminal,
}

/// Who answers the engine's questions: the terminal, or (tests) a closure.
pub trait Approver {
    fn approve(&mut self, question: &str) -> impl Future<Output = Approval>;
}

impl<F: FnMut(&str) -> Approval> Approver for F {
    fn approve(&mut self, question: &str) -> impl Future<Output = Approval> {
        std::future::ready(self(question))
    }
}

/// Asks `question`, or `None` when Ctrl-C came first.
pub async fn ask<A: Approver>(approver: &mut A, question: &str) -> Option<Approval> {
    tokio::select! {
        a = approver.approve(question) => Some(a),
        _ = tokio::signal::ctrl_c() => None,
    }
}
