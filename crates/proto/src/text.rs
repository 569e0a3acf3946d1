//! Text that will reach an operator's terminal or browser: names, contacts,
//! titles, reasons. A peer's text is hostile until checked: control
//! characters (ESC starts terminal escape sequences that hide text or set a
//! window title, BEL rings, CR and LF forge extra lines) and Unicode
//! direction overrides (which make text display in another order than it
//! reads) are refused in short, one-line fields. Longer text (descriptions,
//! comments) may hold line breaks and tabs, nothing else of the kind.

use crate::Error;

/// Whether `c` is refused in text: a control character (C0, DEL, C1) or a
/// Unicode bidirectional override or isolate.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Direction overrides, isolates and marks.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            // Zero-width characters (one name looking like another) and
            // the line and paragraph separators.
            | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{2028}' | '\u{2029}'
        )
}

/// Checks a one-line field: at most `max_bytes`, no control characters, no
/// direction overrides.
pub fn check_line(field: &'static str, text: &str, max_bytes: usize) -> Result<(), Error> {
    check(field, text, max_bytes, |_| false)
}

/// Checks a multi-line field: as [`check_line`], but line breaks (also a
/// pasted log's CR LF) and tabs are allowed; [`printable`] still shows a
/// lone CR rather than let it overwrite a line.
pub fn check_text(field: &'static str, text: &str, max_bytes: usize) -> Result<(), Error> {
    check(field, text, max_bytes, |c| matches!(c, '\n' | '\r' | '\t'))
}

fn check(
    field: &'static str,
    text: &str,
    max_bytes: usize,
    allowed: impl Fn(char) -> bool,
) -> Result<(), Error> {
    if text.len() > max_bytes {
        return Err(Error::Invalid {
            field,
            reason: format!("{} bytes, at most {max_bytes}", text.len()),
        });
    }
    if let Some(c) = text.chars().find(|c| is_unsafe(*c) && !allowed(*c)) {
        return Err(Error::Invalid {
            field,
            reason: format!(
                "holds the control character U+{:04X}: names, titles and reasons are plain text",
                u32::from(c)
            ),
        });
    }
    Ok(())
}

/// `text` as it may be printed to a terminal: every refused character
/// (line breaks and tabs too, unless `multiline`) written as a visible
/// `\u{...}` escape, so nothing a peer wrote can move the cursor, hide text
/// or forge a line.
pub fn printable(text: &str, multiline: bool) -> std::borrow::Cow<'_, str> {
    let keep = |c: char| multiline && (c == '\n' || c == '\t');
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if multiline && c == '\r' && chars.peek() == Some(&'\n') {
            // A CR LF line end prints as the line break it is.
            continue;
        }
        if is_unsafe(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_controls_and_overrides_and_text_allows_line_breaks() {
        for bad in [
            "a\nb",
            "a\rb",
            "\u{1b}]0;pwned\u{7}",
            "x\u{7f}",
            "\u{9b}31m",
            "evil\u{202e}txt",
            "a\u{200b}b",
            "a\u{200e}b",
            "a\u{2067}b",
            "a\u{2028}b",
            "\u{feff}x",
            "a\u{061c}b",
        ] {
            assert!(check_line("name", bad, 100).is_err(), "{bad:?}");
        }
        assert!(check_line("name", "CSIRT-Ü (São Paulo)", 100).is_ok());
        assert!(check_line("name", &"x".repeat(101), 100).is_err());
        assert!(check_text("comment", "line one\n\tline two", 100).is_ok());
        assert!(check_text("comment", "line\u{1b}[2J", 100).is_err());
    }

    #[test]
    fn printable_shows_what_was_hidden() {
        assert_eq!(printable("plain", false), "plain");
        assert_eq!(printable("a\u{1b}[8mb", false), "a\\u{1b}[8mb");
        assert_eq!(printable("a\nb", false), "a\\u{a}b");
        assert_eq!(printable("a\nb", true), "a\nb");
        assert_eq!(printable("a\u{7}\nb", true), "a\\u{7}\nb");
        assert_eq!(printable("a\r\nb\rc", true), "a\nb\\u{d}c");
    }
}
