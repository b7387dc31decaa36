//! File names clients save and show, made from text a client sent.

/// `text` fit for a file name that clients save and show: control characters (Unicode Cc, such
/// as NUL) and invisible format characters (Cf: bidi overrides, zero-width characters, BOM)
/// are left out, because a bidi override makes `"\u{202e}gnp.exe"` display as `exe.png` and a NUL
/// cuts the name short in C APIs. Line breaks and tabs become a space so that words stay apart.
/// The prompt itself is stored and echoed as sent; only the derived name is cleaned.
pub fn file_name_text(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                Some(' ')
            }
            c if c.is_control() || is_format_char(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Unicode general category Cf (format), as of Unicode 16.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_leave_out_control_and_format_characters() {
        assert_eq!(
            file_name_text("zoom in \u{202e}gnp.exe\u{0}"),
            "zoom in gnp.exe"
        );
        assert_eq!(file_name_text("a\nb\tc\r\nd\u{2028}e"), "a b c  d e");
        let hidden: String = [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{feff}',
            '\u{fff9}',
            '\u{e0001}',
            '\u{e007f}',
        ]
        .iter()
        .collect();
        assert_eq!(file_name_text(&format!("x{hidden}y")), "xy");
        // Visible text of any script, emoji and ordinary spaces are kept as they are.
        for kept in [
            "Waves crash",
            "海浪 拍打",
            "موج",
            "é\u{301}",
            "🌊",
            "a\u{a0}b\u{3000}c",
        ] {
            assert_eq!(file_name_text(kept), kept);
        }
    }
}
