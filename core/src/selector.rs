//! A lightweight syntax check of CSS selectors in experiments.json, so typos are caught by
//! `splitbeam validate` before publishing. The browser does the real parse (querySelector).
//!
//! Grammar checked (Selectors Level 4, simplified):
//! `list = complex ("," complex)*`, `complex = compound (combinator? compound)*` where the
//! combinator is whitespace, `>`, `+` or `~`, and `compound = (type | "*" | "&")? subclass*` with
//! `#id`, `.class`, `[attr op value flag]`, `:pseudo`, `::pseudo` and `:pseudo(...)`. Selector
//! lists inside `:not() :is() :where() :matches() :has()` are checked recursively; other
//! arguments (`:nth-child(2n+1 of .x)`, `:lang(de)`) only for balance. Names follow CSS ident rules
//! (`\` escapes included), so `.5col`, `#1a` and `[data-id=1]`, which querySelector rejects too,
//! are reported. Deliberately stricter than browsers: an unclosed `[`, `(` or quote at the end,
//! a trailing `\` and an empty or invalid argument of the forgiving `:is()`/`:where()` are
//! errors (browsers auto-close or match nothing). Not supported: namespaces (`*|a`), the column
//! combinator (`||`), the attribute flag `s` (Chromium rejects it). Not checked: which
//! pseudo-classes may follow a pseudo-element (`::after:hover` passes here, fails in Chromium).

/// Checks the syntax of `selector`. `Err` says what is wrong and at which character (1-based).
pub fn check(selector: &str) -> Result<(), String> {
    let mut parser = Parser {
        chars: selector.chars().collect(),
        i: 0,
    };
    parser.skip_ws();
    if parser.at_end() {
        return Err("empty selector".to_string());
    }
    parser.list(false)?;
    match parser.peek() {
        None => Ok(()),
        Some(c) => Err(parser.unexpected(c)),
    }
}

struct Parser {
    chars: Vec<char>,
    i: usize,
}

fn is_combinator(c: char) -> bool {
    matches!(c, '>' | '+' | '~')
}

/// Characters that may continue a CSS name (besides `\` escapes).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii()
}

/// Characters that may start a CSS name (besides `\` escapes and a leading `-`).
fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

/// CSS whitespace (the selector grammar knows no other).
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

impl Parser {
    fn at_end(&self) -> bool {
        self.i >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.i + offset).copied()
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at {}", self.i + 1)
    }

    fn unexpected(&self, c: char) -> String {
        if c.is_control() {
            self.error("control character")
        } else if c == ')' || c == ']' {
            self.error(&format!("unbalanced '{c}'"))
        } else {
            self.error(&format!("unexpected '{c}'"))
        }
    }

    /// Skips whitespace; true when there was some.
    fn skip_ws(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
        self.i > start
    }

    /// Comma-separated selectors. `relative` allows each to start with a combinator (`:has(> a)`).
    fn list(&mut self, relative: bool) -> Result<(), String> {
        loop {
            self.complex(relative)?;
            if self.peek() != Some(',') {
                return Ok(());
            }
            self.i += 1;
            self.skip_ws();
            if matches!(self.peek(), None | Some(')')) {
                return Err(self.error("trailing comma"));
            }
        }
    }

    fn complex(&mut self, relative: bool) -> Result<(), String> {
        self.skip_ws();
        if let Some(c) = self.peek().filter(|&c| is_combinator(c)) {
            if !relative {
                return Err(self.error(&format!("'{c}' has nothing before it")));
            }
            self.i += 1;
            self.skip_ws();
        }
        self.compound()?;
        loop {
            let had_ws = self.skip_ws();
            match self.peek() {
                None | Some(',' | ')') => return Ok(()),
                Some(c) if is_combinator(c) => {
                    self.i += 1;
                    self.skip_ws();
                    match self.peek() {
                        Some(next) if is_combinator(next) => {
                            return Err(self.error(&format!(
                                "two combinators in a row ('{c}' then '{next}')"
                            )));
                        }
                        None | Some(',' | ')') => {
                            return Err(self.error(&format!("'{c}' has nothing after it")))
                        }
                        _ => self.compound()?,
                    }
                }
                Some(c) if !had_ws => return Err(self.unexpected(c)),
                Some(_) => self.compound()?,
            }
        }
    }

    /// One compound selector such as `a.b[href]:hover`; it must not be empty.
    fn compound(&mut self) -> Result<(), String> {
        let start = self.i;
        match self.peek() {
            Some('*' | '&') => self.i += 1,
            Some(c) if self.starts_name(c) => self.name("element name")?,
            _ => {}
        }
        loop {
            match self.peek() {
                Some('.') => {
                    self.i += 1;
                    self.name("class name after '.'")?;
                }
                Some('#') => {
                    self.i += 1;
                    self.name("id after '#'")?;
                }
                Some('[') => self.attribute()?,
                Some(':') => self.pseudo()?,
                _ => break,
            }
        }
        if self.i > start {
            return Ok(());
        }
        Err(match self.peek() {
            None => self.error("selector missing"),
            Some(',') => self.error("empty selector before ','"),
            Some(c) => self.unexpected(c),
        })
    }

    fn starts_name(&self, c: char) -> bool {
        match c {
            '\\' => true,
            '-' => self
                .peek_at(1)
                .is_some_and(|n| is_name_start(n) || n == '-' || n == '\\'),
            c => is_name_start(c),
        }
    }

    /// A CSS identifier (`what` names it in the error when it is missing or malformed).
    fn name(&mut self, what: &str) -> Result<(), String> {
        match self.peek() {
            Some(c) if self.starts_name(c) => {}
            Some(c) if c.is_ascii_digit() => {
                return Err(self.error(&format!(
                    "{what} cannot start with a digit (escape it: \\3{c} )"
                )))
            }
            _ => return Err(self.error(&format!("missing {what}"))),
        }
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.escape()?;
            } else if is_name_char(c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// `\` + 1–6 hex digits + one optional whitespace, or `\` + any other character but a newline.
    fn escape(&mut self) -> Result<(), String> {
        self.i += 1;
        match self.peek() {
            None => Err(self.error("'\\' at the end")),
            Some('\n' | '\r' | '\x0c') => Err(self.error("'\\' before a line break")),
            Some(c) if c.is_ascii_hexdigit() => {
                let mut hex_digits = 0;
                while hex_digits < 6 && self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.i += 1;
                    hex_digits += 1;
                }
                if self.peek().is_some_and(is_ws) {
                    self.i += 1;
                }
                Ok(())
            }
            Some(_) => {
                self.i += 1;
                Ok(())
            }
        }
    }

    /// `[name]`, `[name op value]` or `[name op value i]`; the cursor is on `[`.
    fn attribute(&mut self) -> Result<(), String> {
        let open = self.i;
        self.i += 1;
        self.skip_ws();
        self.name("attribute name after '['")?;
        self.skip_ws();
        match (self.peek(), self.peek_at(1)) {
            (Some(']'), _) => {
                self.i += 1;
                return Ok(());
            }
            (Some('='), _) => self.i += 1,
            (Some('~' | '|' | '^' | '$' | '*'), Some('=')) => self.i += 2,
            (None, _) => return Err(self.missing_close(open, ']')),
            (Some(c), _) => return Err(self.unexpected(c)),
        }
        self.skip_ws();
        match self.peek() {
            Some(quote @ ('"' | '\'')) => self.string(quote)?,
            Some(c) if self.starts_name(c) => self.name("attribute value")?,
            None => return Err(self.missing_close(open, ']')),
            Some(_) => return Err(self.error("attribute value must be quoted")),
        }
        self.skip_ws();
        // Only the `i` flag: Chromium rejects the `s` flag that Firefox accepts.
        if let Some('i' | 'I') = self.peek() {
            self.i += 1;
            self.skip_ws();
        }
        match self.peek() {
            Some(']') => {
                self.i += 1;
                Ok(())
            }
            None => Err(self.missing_close(open, ']')),
            Some(c) => Err(self.unexpected(c)),
        }
    }

    fn missing_close(&self, open: usize, close: char) -> String {
        let opener = self.chars.get(open).copied().unwrap_or(' ');
        format!("'{opener}' at {} is never closed with '{close}'", open + 1)
    }

    /// A quoted string; the cursor is on the opening quote.
    fn string(&mut self, quote: char) -> Result<(), String> {
        let open = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err(format!("the quote at {} is never closed", open + 1)),
                Some('\n' | '\r' | '\x0c') => return Err(self.error("line break inside a string")),
                Some('\\') => self.i += 2,
                Some(c) if c == quote => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => self.i += 1,
            }
        }
    }

    /// `:name`, `::name` or `:name(arguments)`; the cursor is on the first `:`.
    fn pseudo(&mut self) -> Result<(), String> {
        self.i += 1;
        if self.peek() == Some(':') {
            self.i += 1;
        }
        let name_start = self.i;
        self.name("name after ':'")?;
        if self.peek() != Some('(') {
            return Ok(());
        }
        let name: String = self.chars[name_start..self.i]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let open = self.i;
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(')') {
            return Err(self.error(&format!("empty ':{name}()'")));
        }
        match name.as_str() {
            "not" | "is" | "where" | "matches" | "any" | "-webkit-any" | "-moz-any" => {
                self.list(false)?
            }
            "has" => self.list(true)?,
            _ => self.balanced_arguments(open)?,
        }
        match self.peek() {
            Some(')') => {
                self.i += 1;
                Ok(())
            }
            None => Err(self.missing_close(open, ')')),
            Some(c) => Err(self.unexpected(c)),
        }
    }

    /// Skips arguments up to (not including) the `)` matching the one at `open`.
    fn balanced_arguments(&mut self, open: usize) -> Result<(), String> {
        let mut open_brackets = vec![open];
        while let Some(c) = self.peek() {
            match c {
                '(' | '[' => {
                    open_brackets.push(self.i);
                    self.i += 1;
                }
                ')' | ']' => {
                    let expected = if self.chars[open_brackets[open_brackets.len() - 1]] == '(' {
                        ')'
                    } else {
                        ']'
                    };
                    if c != expected {
                        return Err(self.error(&format!("unbalanced '{c}'")));
                    }
                    if open_brackets.len() == 1 {
                        return Ok(());
                    }
                    open_brackets.pop();
                    self.i += 1;
                }
                '"' | '\'' => self.string(c)?,
                '\\' => self.escape()?,
                '{' | '}' | ';' => return Err(self.unexpected(c)),
                c if c.is_control() && !is_ws(c) => return Err(self.unexpected(c)),
                _ => self.i += 1,
            }
        }
        let innermost = open_brackets[open_brackets.len() - 1];
        let close = if self.chars[innermost] == '(' {
            ')'
        } else {
            ']'
        };
        Err(self.missing_close(innermost, close))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(selector: &str) -> String {
        match check(selector) {
            Ok(()) => panic!("{selector:?} should be rejected"),
            Err(message) => message,
        }
    }

    #[test]
    fn accepts_real_storefront_selectors() {
        for good in [
            "#hero h1",
            ".cta",
            "a[href^=\"/cart\"]",
            "ul > li:nth-child(2n+1)",
            "div.a.b:not(.c)",
            "[data-x='y z']",
            "h1, h2",
            "button:hover::before",
            "*",
            ".sm\\:hidden",
            ".w-1\\/2",
            ".\\31 23",
            "#main-content .product-card__title",
            "a[href$='.pdf' i]",
            "input[type=checkbox]:checked + label",
            "h2 ~ p",
            "li:nth-last-child(-n + 3)",
            "li:nth-child(2n+1 of .item)",
            "section:has(> img)",
            ".card:is(.a, .b) a:where([href])",
            "html[lang|=de] body",
            "p:lang(de)",
            "  .padded  ",
            "._private",
            ".-dash",
            ".--custom",
            "[data-id=\"1\"]",
            "*[hidden]",
            "ul>li+li~li",
            ".über",
            "h1,\n  h2",
            "::selection",
            "a[title=\"say \\\"hi\\\"\"]",
            "input::-webkit-input-placeholder",
            ":root",
        ] {
            assert_eq!(check(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn rejects_an_empty_selector() {
        assert!(error_of("").contains("empty"));
        assert!(error_of("   ").contains("empty"));
    }

    #[test]
    fn rejects_a_leading_combinator() {
        assert_eq!(error_of("> a"), "'>' has nothing before it at 1");
        assert!(error_of("a, + b").contains("nothing before"));
    }

    #[test]
    fn rejects_a_trailing_combinator() {
        assert_eq!(error_of("a >"), "'>' has nothing after it at 4");
        assert!(error_of("a ~, b").contains("nothing after"));
    }

    #[test]
    fn rejects_doubled_combinators() {
        assert!(error_of("a > > b").contains("two combinators"));
        assert!(error_of("a >> b").contains("two combinators"));
        assert!(error_of("a +~ b").contains("two combinators"));
    }

    #[test]
    fn rejects_an_empty_class_or_id() {
        assert!(error_of(".").contains("missing class name"));
        assert!(error_of("#").contains("missing id"));
        assert!(error_of("a. b").contains("missing class name"));
        assert!(error_of("div#").contains("missing id"));
    }

    #[test]
    fn rejects_names_starting_with_a_digit() {
        assert!(error_of(".5col").contains("cannot start with a digit"));
        assert!(error_of("#1a").contains("cannot start with a digit"));
    }

    #[test]
    fn rejects_unbalanced_brackets_and_parentheses() {
        assert!(error_of("a[href").contains("never closed with ']'"));
        assert!(error_of("a]").contains("unbalanced ']'"));
        assert!(error_of("li:nth-child(2n").contains("never closed with ')'"));
        assert!(error_of("a)").contains("unbalanced ')'"));
        assert!(error_of(":not(.a").contains("never closed with ')'"));
        assert!(error_of("li:nth-child(2n])").contains("unbalanced ']'"));
    }

    #[test]
    fn rejects_unbalanced_quotes() {
        assert_eq!(
            error_of("a[href=\"/cart]"),
            "the quote at 8 is never closed"
        );
        assert!(error_of("[data-x='y]").contains("never closed"));
        assert!(error_of("a\"").contains("unexpected '\"'"));
    }

    #[test]
    fn rejects_illegal_characters() {
        for bad in [
            "a{color:red}",
            "div;",
            "a!",
            "@media",
            "a/b",
            "$cart",
            "a = b",
            "div%",
        ] {
            assert!(error_of(bad).contains("unexpected"), "{bad:?}");
        }
        assert!(error_of("a\u{7}").contains("control character"));
    }

    #[test]
    fn rejects_a_trailing_or_doubled_comma() {
        assert_eq!(error_of("h1, h2,"), "trailing comma at 8");
        assert!(error_of("h1,,h2").contains("empty selector before ','"));
        assert!(error_of(", h1").contains("empty selector before ','"));
    }

    #[test]
    fn rejects_malformed_attribute_selectors() {
        assert!(error_of("[data-id=1]").contains("must be quoted"));
        assert!(error_of("[=x]").contains("missing attribute name"));
        assert!(error_of("[a==b]").contains("must be quoted"));
        assert!(error_of("[a b]").contains("unexpected 'b'"));
        assert!(error_of("[a=\"b\" s]").contains("unexpected 's'"));
    }

    #[test]
    fn rejects_empty_or_malformed_pseudo_classes() {
        assert!(error_of("a:").contains("missing name after ':'"));
        assert!(error_of("a:not()").contains("empty ':not()'"));
        assert!(error_of("a:not(> b)").contains("nothing before"));
        assert!(error_of("a:is(.b,)").contains("trailing comma"));
    }

    #[test]
    fn rejects_a_dangling_escape() {
        assert!(error_of(".a\\").contains("'\\' at the end"));
    }

    #[test]
    fn reports_the_position_of_the_problem() {
        assert_eq!(error_of("#hero h1 {"), "unexpected '{' at 10");
    }
}
