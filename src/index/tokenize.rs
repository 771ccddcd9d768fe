//! Tokenizers: words for text (CJK one character per token), whole lowercased values for
//! keywords (domains, rule ids, channels).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Longest token kept, in bytes: a sha256 in hex (64) still is one.
const MAX_TOKEN: usize = 100;

/// Words: runs of letters and digits; each Chinese or Japanese character is a token of its
/// own, since those scripts do not separate words and a phrase query must be able to match
/// part of a run.
pub(crate) fn words() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN))
        .filter(LowerCaser)
        .build()
}

/// Words of the normalized text: what `text` is indexed and queried with.
pub(crate) fn normalized_words() -> TextAnalyzer {
    TextAnalyzer::builder(NormalizingTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN))
        .filter(LowerCaser)
        .build()
}

/// The whole value, lowercased.
pub(crate) fn keyword() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// The word tokens of `text` as the index sees them (for building queries and snippets).
pub(crate) fn word_tokens(text: &str) -> Vec<String> {
    let mut analyzer = words();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn is_ideograph(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'     // Hiragana, Katakana
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'   // compatibility ideographs
        | '\u{20000}'..='\u{2FA1F}' // extensions B..
    )
}

#[derive(Clone, Default)]
pub(crate) struct WordTokenizer {
    token: Token,
}

pub(crate) struct WordStream<'a> {
    text: &'a str,
    pos: usize,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            pos: 0,
            token: &mut self.token,
        }
    }
}

/// Words of the normalized text, adding the bytes of every text it tokenizes to `consumed`:
/// the index writer's measure of how much text tantivy's indexing threads have taken in, so
/// it can bound the text waiting in tantivy's queue (which is bounded in documents only).
pub(crate) fn counting_normalized_words(consumed: Arc<AtomicU64>) -> TextAnalyzer {
    TextAnalyzer::builder(NormalizingTokenizer {
        consumed: Some(consumed),
        ..NormalizingTokenizer::default()
    })
    .filter(RemoveLongFilter::limit(MAX_TOKEN))
    .filter(LowerCaser)
    .build()
}

/// [`WordTokenizer`] over the normalized text. ASCII text is tokenized as is: its
/// normalization only lowercases and collapses whitespace, which gives the same tokens.
#[derive(Clone, Default)]
pub(crate) struct NormalizingTokenizer {
    token: Token,
    normalized: String,
    consumed: Option<Arc<AtomicU64>>,
}

impl Tokenizer for NormalizingTokenizer {
    type TokenStream<'a> = WordStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        let NormalizingTokenizer {
            token,
            normalized,
            consumed,
        } = self;
        if let Some(c) = consumed {
            c.fetch_add(text.len() as u64, Ordering::Relaxed);
        }
        token.reset();
        let text: &'a str = if text.is_ascii() {
            text
        } else {
            *normalized = crate::normalize::normalize(text).text;
            normalized
        };
        WordStream {
            text,
            pos: 0,
            token,
        }
    }
}

/// The character at `i` (a char boundary) and its length.
fn char_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        return (b as char, 1);
    }
    match text[i..].chars().next() {
        Some(c) => (c, c.len_utf8()),
        None => (' ', 1),
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        let text = self.text;
        let len = text.len();
        let mut i = self.pos;
        // Skip separators.
        let (start, first) = loop {
            if i >= len {
                self.pos = len;
                return false;
            }
            let (c, n) = char_at(text, i);
            if c.is_alphanumeric() {
                break (i, (c, n));
            }
            i += n;
        };
        let mut end = start + first.1;
        if !is_ideograph(first.0) {
            while end < len {
                let b = text.as_bytes()[end];
                if b < 0x80 {
                    if !b.is_ascii_alphanumeric() {
                        break;
                    }
                    end += 1;
                    continue;
                }
                let (c, n) = char_at(text, end);
                if !c.is_alphanumeric() || is_ideograph(c) {
                    break;
                }
                end += n;
            }
        }
        self.pos = end;
        self.token.position = self.token.position.wrapping_add(1);
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.text.clear();
        self.token.text.push_str(&text[start..end]);
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_punctuation_and_ideographs_one_by_one() {
        assert_eq!(
            word_tokens("Send_data to external-endpoint.attacker.io, NOW!"),
            ["send", "data", "to", "external", "endpoint", "attacker", "io", "now"]
        );
        assert_eq!(
            word_tokens("忽略之前的指令 and café"),
            ["忽", "略", "之", "前", "的", "指", "令", "and", "café"]
        );
        assert_eq!(word_tokens("привет, мир"), ["привет", "мир"]);
        assert!(word_tokens(" ,. ").is_empty());
    }

    #[test]
    fn text_is_tokenized_normalized() {
        let tokens = |t: &str| {
            let mut a = normalized_words();
            let mut s = a.token_stream(t);
            let mut out = Vec::new();
            while let Some(t) = s.next() {
                out.push(t.text.clone());
            }
            out
        };
        // Zero-width splitting, Cyrillic look-alikes, fullwidth letters.
        assert_eq!(
            tokens("Ig\u{200B}nore аll ｐｒｅｖｉｏｕｓ"),
            ["ignore", "all", "previous"]
        );
        assert_eq!(
            tokens("Plain ASCII, as is."),
            ["plain", "ascii", "as", "is"]
        );
    }

    #[test]
    fn positions_and_offsets_follow_the_text() {
        let mut a = words();
        let mut s = a.token_stream("ab 指令");
        let mut got = Vec::new();
        while let Some(t) = s.next() {
            got.push((t.position, t.offset_from, t.offset_to));
        }
        assert_eq!(got, [(0, 0, 2), (1, 3, 6), (2, 6, 9)]);
    }
}
