//! Printing text that came from users and images.
//!
//! A container name, a path given to `init` or an id typed on the command
//! line can hold a newline or an escape sequence. Printed as it is, a
//! newline would add a fake row to `bocker images` or split a one-line
//! error in two, and an escape sequence would be obeyed by the terminal.
//! So bocker shows control characters the way Rust writes them in a
//! string literal: `\n`, `\t`, `\u{1b}`.

use std::borrow::Cow;

/// `text` with every control character escaped.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("plain, with ünïcode"), "plain, with ünïcode");
        assert_eq!(printable("two\nlines"), "two\\nlines");
        assert_eq!(printable("tab\there"), "tab\\there");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("nul\0"), "nul\\0");
    }
}
