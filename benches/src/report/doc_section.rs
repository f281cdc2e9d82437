//! A section of the project's docs that a budget points to, as a link from docs/benchmarks.md.

/// A section of a file in docs/, named by its heading as written there.
#[derive(Clone, Copy, Debug)]
pub struct DocSection {
    /// The file, relative to docs/.
    pub file: &'static str,
    /// The heading's text, without the leading `#`s.
    pub heading: &'static str,
}

impl DocSection {
    /// A Markdown link to the section, relative to docs/ (where the report lives), with the
    /// anchor GitHub and most renderers derive from the heading.
    pub fn link(&self) -> String {
        format!("[{} § {}]({}#{})", self.file, self.heading, self.file, anchor(self.heading))
    }
}

/// The anchor of a heading: lowercase, every character but letters, digits, spaces, `-` and `_`
/// dropped, spaces made `-`.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c.to_ascii_lowercase() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_the_heading_text() {
        assert_eq!(anchor("Today: the safe core"), "today-the-safe-core");
        assert_eq!(anchor("Where the time goes (2026-12-06)"), "where-the-time-goes-2026-12-06");
        assert_eq!(anchor("next to tracing + OpenTelemetry"), "next-to-tracing--opentelemetry");
        let link = DocSection { file: "http.md", heading: "Cost of the server layer" }.link();
        assert_eq!(link, "[http.md § Cost of the server layer](http.md#cost-of-the-server-layer)");
    }
}
