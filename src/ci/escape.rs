//! One escaping function per sink, for text that comes from outside the
//! program (file names, service messages, API fields, error causes, step
//! logs): [`log_line`] for the terminal and the GitHub Actions log,
//! [`markdown`] (and [`markdown_link`]) for the job summary and the pull
//! request comment. Workflow command data has its own encoding on top
//! ([`super::github::escape_data`]); dotenv values theirs
//! ([`super::dotenv`]).
//!
//! How the GitHub runner finds commands in a step's output
//! (actions/runner `ActionCommand.cs`, `OutputManager.cs`): output is split
//! into lines at `\n`, `\r` and `\r\n`; a line is a v2 command when, with
//! its leading white space trimmed, it starts with `::`; failing that, it
//! is a legacy v1 command when `##[` occurs anywhere in it. So a log line
//! is safe when it holds no line break, does not start with `::` after
//! white space, and holds no `##[`.

/// One line of log output, safe for a terminal and for the GitHub runner.
///
/// - every line break (`\r`, `\n`, and the Unicode ones: NEL, LS, PS, also
///   VT and FF) becomes a space, a run of them one space, so a value stays
///   on the line that names it;
/// - other control characters are shown as `\u{1b}` (no terminal escape
///   sequences from a file name);
/// - `##[` becomes `##\[` wherever it occurs (no legacy command);
/// - a line that would start with `::` after white space (or invisible
///   format characters) gets a `\` before the `::` (no workflow command).
///
/// Text that is already safe is returned unchanged.
pub fn log_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in breaks_as_spaces(s) {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    let mut out = out.replace("##[", "##\\[");
    let start = out
        .char_indices()
        .find(|&(_, c)| !(c.is_whitespace() || is_invisible(c)))
        .map(|(i, _)| i);
    if let Some(i) = start {
        if out[i..].starts_with("::") {
            out.insert(i, '\\');
        }
    }
    out
}

/// `s`'s characters with each run of line breaks as one space.
fn breaks_as_spaces(s: &str) -> impl Iterator<Item = char> + '_ {
    let mut in_break = false;
    s.chars().filter_map(move |c| {
        let was_break = std::mem::replace(&mut in_break, is_line_break(c));
        match (in_break, was_break) {
            (true, true) => None,
            (true, false) => Some(' '),
            (false, _) => Some(c),
        }
    })
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Zero-width characters a reader cannot see at the start of a line.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// Inline Markdown text that renders as exactly `s`: no image, link, HTML
/// tag, emphasis, code, math or table column break, on one line.
///
/// GitHub-flavoured Markdown lets any ASCII punctuation be escaped with a
/// backslash (CommonMark 0.31 §2.4), and a table cell takes `\|`; `&`, `<`
/// and `>` become HTML entities so no tag or entity can form. Line breaks
/// become a space (a new line could start a block: a heading, a list, a new
/// table row); other control characters are dropped.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in breaks_as_spaces(s) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '(' | ')' | '!' | '|' | '#' | '$' | '{'
            | '}' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `[text](url)` when `url` is a plain `https://` URL (no white space,
/// quotes, brackets or other characters that could end the link early);
/// otherwise the URL as [`markdown`] text, so a strange value neither
/// breaks the table nor becomes markup.
pub fn markdown_link(text: &str, url: &str) -> String {
    let plain = url.starts_with("https://")
        && url.len() > "https://".len()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "()<>|[]`\\\"'".contains(c));
    if plain {
        format!("[{}]({url})", markdown(text))
    } else {
        markdown(url)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What the runner would take as a command (ActionCommand.TryParseV2,
    /// then TryParse), for lines already split at `\r`/`\n`.
    fn runner_sees_command(line: &str) -> bool {
        line.trim_start().starts_with("::") || line.contains("##[")
    }

    const HOSTILE: &[&str] = &[
        "::error::pwned",
        "::add-mask::x",
        "##[error]x",
        "::stop-commands::tok",
        "  ::warning::indented",
        "\u{a0}\u{2003}::error::unicode space",
        "\u{feff}::error::bom",
        "a\n::error::y",
        "a\r::set-output name=x::y",
        "a\r\n##[set-env name=x]y",
        "x\u{2028}::error::ls",
        "x\u{85}::error::nel",
        "name ##[group]g",
        "###[error]three hashes",
        "\u{1b}[31mred\u{1b}[0m",
    ];

    #[test]
    fn hostile_text_makes_no_command_and_one_line() {
        for s in HOSTILE {
            let got = log_line(s);
            for line in got.split(['\r', '\n']) {
                assert!(!runner_sees_command(line), "{s:?} -> {got:?}");
            }
            assert!(!got.contains(['\r', '\n', '\u{1b}']), "{s:?} -> {got:?}");
            // Within a longer line too.
            assert!(!runner_sees_command(&log_line(&format!("warning: {s}"))));
        }
    }

    #[test]
    fn the_escapes_are_visible_and_documented() {
        assert_eq!(log_line("::error::pwned"), "\\::error::pwned");
        assert_eq!(log_line("  ::x::y"), "  \\::x::y");
        assert_eq!(log_line("##[error]x"), "##\\[error]x");
        assert_eq!(log_line("a ##[b] ##[c]"), "a ##\\[b] ##\\[c]");
        assert_eq!(log_line("a\r\n\n::error::y"), "a ::error::y");
        assert_eq!(log_line("\u{1b}[31m"), "\\u{1b}[31m");
        assert_eq!(log_line("tab\there"), "tab\there");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for s in [
            "deployed d1/main job 3: https://main.d1.amplifyapp.com",
            "Catégorie:Histoire.html",
            "a::b",
            "# heading",
            "100% done",
            "",
        ] {
            assert_eq!(log_line(s), s);
        }
    }

    #[test]
    fn markdown_renders_no_markup() {
        let got = markdown("![x](https://evil/x.png) <img src=x> | a\n::error::y");
        assert_eq!(
            got,
            "\\!\\[x\\]\\(https://evil/x.png\\) &lt;img src=x&gt; \\| a ::error::y"
        );
        assert!(!got.contains("!["));
        assert!(!got.contains('<'));
        assert!(!got.contains('\n'));
        // Every pipe is escaped, so a table row keeps its columns.
        assert_eq!(got.matches('|').count(), got.matches("\\|").count());
    }

    #[test]
    fn markdown_escapes_every_inline_construct() {
        for (input, want) in [
            ("*b* _i_ ~s~", "\\*b\\* \\_i\\_ \\~s\\~"),
            ("`code`", "\\`code\\`"),
            ("$x^2$", "\\$x^2\\$"),
            ("&lt; &#60;", "&amp;lt; &amp;\\#60;"),
            ("back\\slash", "back\\\\slash"),
            ("<https://x>", "&lt;https://x&gt;"),
            ("# not a heading", "\\# not a heading"),
            ("line\r\n\r\nnext", "line next"),
            ("bell\u{7}", "bell"),
            ("us-east-1 d1example 3.0", "us-east-1 d1example 3.0"),
        ] {
            assert_eq!(markdown(input), want, "{input:?}");
        }
    }

    #[test]
    fn links_only_for_plain_https_urls() {
        assert_eq!(
            markdown_link("log", "https://example.com/a/b"),
            "[log](https://example.com/a/b)"
        );
        assert_eq!(
            markdown_link("[x](y)", "https://e.com"),
            "[\\[x\\]\\(y\\)](https://e.com)"
        );
        assert_eq!(
            markdown_link("x", "javascript:alert(1)"),
            "javascript:alert\\(1\\)"
        );
        assert_eq!(
            markdown_link("x", "https://e.com/) ![i](https://evil"),
            "https://e.com/\\) \\!\\[i\\]\\(https://evil"
        );
        assert_eq!(markdown_link("x", "https://"), "https://");
    }

    /// What a CommonMark + GFM renderer makes of `md`: the events, minus
    /// the table scaffolding, and the text of each table cell.
    pub(crate) fn parse(md: &str) -> (Vec<String>, Vec<String>) {
        use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_TASKLISTS;
        let mut markup = Vec::new();
        let mut cells = Vec::new();
        let mut cell: Option<String> = None;
        for event in Parser::new_ext(md, options) {
            match event {
                Event::Start(Tag::TableCell) => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) => cells.extend(cell.take()),
                Event::Text(t) => {
                    if let Some(c) = &mut cell {
                        c.push_str(&t);
                    }
                }
                Event::Start(
                    Tag::Table(_) | Tag::TableHead | Tag::TableRow | Tag::Paragraph | Tag::Strong,
                )
                | Event::End(
                    TagEnd::Table
                    | TagEnd::TableHead
                    | TagEnd::TableRow
                    | TagEnd::Paragraph
                    | TagEnd::Strong,
                ) => {}
                other => markup.push(format!("{other:?}")),
            }
        }
        (markup, cells)
    }

    #[test]
    fn a_markdown_renderer_sees_only_text() {
        for input in [
            "![x](https://evil/x.png) <img src=x> | a\n::error::y",
            "[link](https://evil) <a href=x>a</a> <!-- c --> &#60;script&#62;",
            "*em* **strong** _u_ ~~s~~ `code` $math$ $$m$$",
            "a | b | c\n|---|---|\n| d | e |",
            "# h\n- list\n> quote\n1. one\n---\n=== \n    indented",
            "<https://autolink> [^1] [x]: https://ref",
            "trailing backslash \\",
            "tab\tand\r\ncrlf",
        ] {
            let value = markdown(input);
            let md = format!("| | |\n|---|---|\n| key | {value} |\n\n**Error:** {value}\n");
            let (markup, cells) = parse(&md);
            assert_eq!(markup, Vec::<String>::new(), "{input:?} -> {value:?}");
            let folded = input
                .split(['\r', '\n'])
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
                .replace('\t', " ");
            assert_eq!(
                cells,
                ["", "", "key", folded.as_str()],
                "{input:?} -> {value:?}"
            );
        }
    }

    #[test]
    fn unescaped_the_same_text_would_be_markup() {
        let (markup, _) =
            parse("| | |\n|---|---|\n| key | ![x](https://evil/x.png) <img src=x> |\n");
        assert!(markup.iter().any(|e| e.contains("Image")), "{markup:?}");
        assert!(
            markup.iter().any(|e| e.contains("InlineHtml")),
            "{markup:?}"
        );
        // A raw pipe splits the cell, and GFM drops the extra one: text lost.
        let (_, cells) = parse("| | |\n|---|---|\n| key | a | b |\n");
        assert_eq!(cells, ["", "", "key", "a"]);
    }

    #[test]
    fn a_markdown_renderer_sees_one_link_to_the_url() {
        let md = format!(
            "| a | {} |\n|---|---|\n",
            markdown_link("job ![i](x) [3]", "https://e.com/a%2Fb/1")
        );
        let events: Vec<_> =
            pulldown_cmark::Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES)
                .filter_map(|e| match e {
                    pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link {
                        dest_url, ..
                    }) => Some(format!("link {dest_url}")),
                    pulldown_cmark::Event::Start(pulldown_cmark::Tag::Image { .. }) => {
                        Some("image".into())
                    }
                    _ => None,
                })
                .collect();
        assert_eq!(events, ["link https://e.com/a%2Fb/1"]);
    }
}
