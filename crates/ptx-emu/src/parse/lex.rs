//! Splitting PTX text into statements: comments removed, line numbers kept.

/// One PTX statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Open,
    Close,
    Label(String),
    /// A directive or instruction without its trailing `;`, whitespace collapsed.
    Text(String),
}

/// Statements with the 1-based line each starts on.
pub fn statements(src: &str) -> Vec<(u32, Stmt)> {
    let text = strip_comments(src);
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'{' {
            out.push((line, Stmt::Open));
            i += 1;
            continue;
        }
        if c == b'}' {
            out.push((line, Stmt::Close));
            i += 1;
            continue;
        }
        // a label `name:` (not the `::` of a qualifier such as `.L2::128B`)
        let word_end = scan_word(b, i);
        if word_end > i
            && word_end < b.len()
            && b[word_end] == b':'
            && b.get(word_end + 1) != Some(&b':')
            && c != b'.'
        {
            out.push((line, Stmt::Label(text[i..word_end].to_string())));
            i = word_end + 1;
            continue;
        }
        let word = &text[i..word_end];
        let start_line = line;
        let end;
        if is_line_directive(word) {
            end = memchr(b, i, b'\n');
        } else if word == ".section" {
            // debug sections: `.section name { ... }` skipped whole
            let mut j = i;
            while j < b.len() && b[j] != b'{' {
                if b[j] == b'\n' {
                    line += 1;
                }
                j += 1;
            }
            let mut depth = 0;
            while j < b.len() {
                match b[j] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            j += 1;
                            break;
                        }
                    }
                    b'\n' => line += 1,
                    _ => {}
                }
                j += 1;
            }
            i = j;
            continue;
        } else if matches!(word, ".visible" | ".entry" | ".weak" | ".func" | ".extern")
            && is_function_header(&text[i..])
        {
            // up to the body's `{` or the declaration's `;`, outside parentheses
            let mut j = i;
            let mut depth = 0;
            while j < b.len() {
                match b[j] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    b'{' | b';' if depth == 0 => break,
                    _ => {}
                }
                j += 1;
            }
            end = j;
        } else {
            end = memchr(b, i, b';');
        }
        let raw = &text[i..end];
        line += raw.bytes().filter(|&c| c == b'\n').count() as u32;
        out.push((start_line, Stmt::Text(collapse(raw))));
        i = if end < b.len() && b[end] == b';' {
            end + 1
        } else {
            end
        };
    }
    out
}

fn is_function_header(s: &str) -> bool {
    let head: String = s.chars().take_while(|&c| c != '(' && c != ';').collect();
    head.contains(".entry") || head.contains(".func")
}

fn is_line_directive(w: &str) -> bool {
    matches!(
        w,
        ".version"
            | ".target"
            | ".address_size"
            | ".file"
            | ".loc"
            | ".maxntid"
            | ".reqntid"
            | ".minnctapersm"
            | ".maxnctapersm"
            | ".maxnreg"
            | ".maxclusterrank"
            | ".reqnctapercluster"
            | ".explicitcluster"
            | ".noreturn"
    )
}

fn scan_word(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$' | b'.' | b'%'))
    {
        i += 1;
    }
    i
}

fn memchr(b: &[u8], from: usize, c: u8) -> usize {
    b[from..]
        .iter()
        .position(|&x| x == c)
        .map_or(b.len(), |p| from + p)
}

fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Replaces `//` and `/* */` comments by spaces, keeping newlines (and string literals).
pub fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let end = memchr(b, i + 1, b'"').min(b.len() - 1);
            out.extend_from_slice(&b[i..=end]);
            i = end + 1;
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                if b[i] == b'\n' {
                    out.push(b'\n');
                }
                i += 1;
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_labels_braces_and_line_directives() {
        let s = statements(
            ".version 9.5\n.visible .entry k(\n .param .u64 a\n)\n.maxntid 32, 1, 1\n{\n// c\n$L1: /* x\n */ add.s32 %r1, %r2, 1;\n{ cvt.f32.bf16 %f1, %rs1;}\n}\n",
        );
        assert_eq!(s[0], (1, Stmt::Text(".version 9.5".into())));
        assert_eq!(s[1].0, 2);
        assert!(matches!(&s[1].1, Stmt::Text(t) if t.starts_with(".visible .entry k(")));
        assert_eq!(s[2], (6, Stmt::Open));
        assert_eq!(s[3], (8, Stmt::Label("$L1".into())));
        assert_eq!(s[4], (9, Stmt::Text("add.s32 %r1, %r2, 1".into())));
        assert_eq!(s[5], (10, Stmt::Open));
        assert_eq!(s[6], (10, Stmt::Text("cvt.f32.bf16 %f1, %rs1".into())));
        assert_eq!(s[7], (10, Stmt::Close));
        assert_eq!(s[8], (11, Stmt::Close));
    }
}
