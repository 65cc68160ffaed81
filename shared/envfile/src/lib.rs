//! The `KEY=value` file format of `sandbox.env`, read and written in one place.
//!
//! The simulator (`wxpay-sim`) writes its sandbox merchant in this format, the local stack adds
//! `WXPAY_NOTIFY_URL`, and the configuration (`env-config`) and the tests read it back. The
//! same file can be loaded into a shell with `set -a; . sandbox.env; set +a`. No dependencies, so
//! that every crate, production or test, can share it without pulling any other in.
//!
//! # Format
//!
//! - One `NAME=value` per line. Whitespace around the line, the name and the value is ignored.
//! - Blank lines and lines starting with `#` are comments.
//! - A value may be enclosed in double quotes (`NAME="a b"`); one pair of surrounding quotes is
//!   removed and nothing inside is unescaped.
//! - Lines without `=` are ignored. A later line for the same name wins.
//!
//! [`line()`] writes only what both this parser and a POSIX shell read back unchanged: a name of
//! ASCII letters, digits and `_` (not starting with a digit); a value bare when it consists of
//! letters, digits and `_-./:@+,%`, double-quoted when it has other characters, and refused when it
//! holds a double quote, backslash, `$`, backquote or line break.

use std::fmt;

/// The variables of `text`, in file order (a later duplicate wins when collected into a map).
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (name.trim().to_owned(), value.to_owned())
        })
        .collect()
}

/// `NAME=value\n`, the value quoted as the format requires.
pub fn line(name: &str, value: &str) -> Result<String, Unwritable> {
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(Unwritable {
            name: name.to_owned(),
            reason: "is not a variable name",
        });
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@+,%".contains(c);
    if value.chars().all(plain) {
        return Ok(format!("{name}={value}\n"));
    }
    if value.chars().any(|c| "\"\\$`\n\r".contains(c)) {
        return Err(Unwritable {
            name: name.to_owned(),
            reason: "would contain a quote, backslash, $, backquote or line break",
        });
    }
    Ok(format!("{name}=\"{value}\"\n"))
}

/// A variable that the format cannot hold (see [`line()`]). Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwritable {
    /// The variable.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for Unwritable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.reason)
    }
}

impl std::error::Error for Unwritable {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_spaces_and_quotes() {
        let parsed = parse("# c\nA=1\nB=\"x y\"\n\n  C = z \nnot a variable\nD=\nA=2\n");
        let expected = [("A", "1"), ("B", "x y"), ("C", "z"), ("D", ""), ("A", "2")];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parsed, expected);
    }

    #[test]
    fn values_are_bare_when_plain_quoted_with_spaces_and_refused_when_dangerous() {
        assert_eq!(line("X", "/tmp/a-b_c.pem").unwrap(), "X=/tmp/a-b_c.pem\n");
        assert_eq!(line("X", "/tmp/my dir/a").unwrap(), "X=\"/tmp/my dir/a\"\n");
        assert_eq!(line("X", "").unwrap(), "X=\n");
        for bad in ["/tmp/$HOME", "a\"b", "a\\b", "a`b`", "a\nb"] {
            let err = line("X", bad).unwrap_err();
            assert_eq!(err.name, "X");
            assert!(!err.to_string().contains(bad), "{err}");
        }
        assert!(line("1X", "a").is_err());
        assert!(line("A B", "a").is_err());
        assert!(line("", "a").is_err());
    }

    #[test]
    fn what_is_written_reads_back() {
        let vars = [
            ("WXPAY_MCHID", "1900007291"),
            ("WXPAY_MERCHANT_KEY_FILE", "/tmp/my dir/apiclient_key.pem"),
            ("WXPAY_BASE_URL", "http://127.0.0.1:8089"),
            ("EMPTY", ""),
        ];
        let text: String = vars.iter().map(|(k, v)| line(k, v).unwrap()).collect();
        let back: Vec<_> = parse(&text);
        let vars: Vec<_> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(back, vars);
    }
}
