//! The ASCII-only form of a rule regex, for windows of normalized text that are pure ASCII
//! (nearly all of them).
//!
//! The rule patterns are Unicode: `\w`, `\s`, `[^.!?]{0,60}` and case-insensitive letters
//! stand for thousands of code points, so their compiled automata are large (megabytes for
//! the multilingual rules) and their lazy DFA caches fill up fast. On an ASCII haystack only
//! the ASCII part of each class can match and a Unicode word boundary is an ASCII one, so a
//! copy of the pattern with every class cut down to ASCII, every non-ASCII literal removed
//! and every boundary made ASCII finds exactly the same matches there, from an automaton a
//! fraction of the size.

use regex_automata::meta::Regex;
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Look, Repetition};

/// Compiles the ASCII-only form of `pattern`; `None` if it does not parse or compile (the
/// Unicode regex is then used for every window, as before).
pub fn compile(pattern: &str) -> Option<Regex> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    Regex::builder().build_from_hir(&to_ascii(hir)).ok()
}

/// `hir` restricted to what can match in ASCII text.
fn to_ascii(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) if lit.0.is_ascii() => Hir::literal(lit.0),
        HirKind::Literal(_) => Hir::fail(),
        HirKind::Class(Class::Unicode(c)) => {
            let ranges = c.ranges().iter().filter_map(|r| {
                let (s, e) = (r.start() as u32, (r.end() as u32).min(0x7F));
                (s <= e).then(|| ClassBytesRange::new(s as u8, e as u8))
            });
            Hir::class(Class::Bytes(ClassBytes::new(ranges)))
        }
        HirKind::Class(Class::Bytes(mut c)) => {
            c.intersect(&ClassBytes::new([ClassBytesRange::new(0, 0x7F)]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Look(look) => Hir::look(ascii_look(look)),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(to_ascii(*rep.sub)),
            ..rep
        }),
        // Only match bounds are used, so groups are dropped (which also keeps the group
        // indices dense when branches disappear).
        HirKind::Capture(cap) => to_ascii(*cap.sub),
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(to_ascii).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.into_iter().map(to_ascii).collect()),
    }
}

/// On ASCII text every word character is an ASCII one.
fn ascii_look(look: Look) -> Look {
    match look {
        Look::WordUnicode => Look::WordAscii,
        Look::WordUnicodeNegate => Look::WordAsciiNegate,
        Look::WordStartUnicode => Look::WordStartAscii,
        Look::WordEndUnicode => Look::WordEndAscii,
        Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
        Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::compile;

    #[test]
    fn ascii_form_matches_like_the_unicode_pattern_on_ascii_text() {
        let p = r"(?i)\b(?:send|сообщи) (?:all|все)\b[^.!?]{0,20}?\w+@\w+\.com\b";
        let re = compile(p).unwrap();
        let uni = regex::Regex::new(p).unwrap();
        for hay in [
            "please send all of it to bob@evil.com now",
            "SEND ALL. to bob@evil.com",
            "resend all to bob@evil.com",
            "send all the things to x@y.com, ok",
        ] {
            let a = re.find(hay.as_bytes()).map(|m| m.range());
            let u = uni.find(hay).map(|m| m.range());
            assert_eq!(a, u, "{hay}");
        }
    }
}
