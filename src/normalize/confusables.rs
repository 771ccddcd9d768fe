//! Cyrillic and Greek letters that look like Latin ones, folded only inside words that mix
//! scripts, so Russian and Greek text keeps its meaning.

/// Latin letter a lowercase Cyrillic/Greek look-alike stands for (uppercase letters are
/// lowercased first by the caller's pipeline, so both cases are listed).
pub fn to_latin(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'в' | 'В' | 'β' | 'Β' | 'ь' => 'b',
        'с' | 'С' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' | 'ё' | 'Ё' | 'ε' | 'Ε' => 'e',
        'һ' | 'Һ' | 'н' | 'Н' | 'Η' => 'h',
        'і' | 'І' | 'ї' | 'Ї' | 'ι' | 'Ι' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'ӏ' | 'Ӏ' => 'l',
        'м' | 'М' | 'Μ' => 'm',
        'п' | 'η' | 'Ν' => 'n',
        'о' | 'О' | 'ο' | 'Ο' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'υ' => 'u',
        'ν' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'γ' | 'Υ' => 'y',
        'Ζ' => 'z',
        _ => return None,
    })
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c)
}

fn is_cyrillic_or_greek(c: char) -> bool {
    ('\u{0370}'..='\u{03FF}').contains(&c) || ('\u{0400}'..='\u{052F}').contains(&c)
}

/// Whether the word at the start of `rest` mixes Latin letters with Cyrillic/Greek ones.
/// Zero-width characters inside the word do not end it (they are an obfuscation of their own).
pub fn word_is_mixed(rest: &str) -> bool {
    // Most words are plain ASCII: settle those without decoding characters.
    let ascii_run = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    if rest.as_bytes().get(ascii_run).is_none_or(|b| b.is_ascii()) {
        return false;
    }
    let (mut latin, mut other) = (false, false);
    for c in rest.chars() {
        if super::is_zero_width(c) {
            continue;
        }
        if !c.is_alphabetic() {
            break;
        }
        latin |= is_latin_letter(c);
        other |= is_cyrillic_or_greek(c);
        if latin && other {
            return true;
        }
    }
    false
}

/// Whether a text that contains Cyrillic or Greek letters is mostly Latin, so that a whole word
/// made of look-alikes ("раураl" typed in Cyrillic) is a disguise rather than Russian.
pub fn mostly_latin(text: &str) -> bool {
    // Cyrillic and Greek letters are encoded with lead bytes 0xCD..=0xD4.
    if !text.bytes().any(|b| (0xCD..=0xD4).contains(&b)) {
        return false;
    }
    let (mut latin, mut other) = (0usize, 0usize);
    for c in text.chars() {
        if is_latin_letter(c) {
            latin += 1;
        } else if is_cyrillic_or_greek(c) {
            other += 1;
        }
    }
    latin > 3 * other
}

/// A word to fold to Latin: it mixes scripts, or, in mostly Latin text, it is made only of
/// Cyrillic/Greek look-alikes and no word beside it is genuinely Cyrillic or Greek. So
/// "раураl" typed in Cyrillic inside English is folded, while "Не" in a Russian sentence
/// quoted in an English document stays Russian ("сообщай" next to it has letters no Latin
/// letter looks like).
pub fn word_is_disguised(src: &str, start: usize, latin_context: bool) -> bool {
    let rest = &src[start..];
    if word_is_mixed(rest) {
        return true;
    }
    if !latin_context {
        return false;
    }
    let mut any = false;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        if super::is_zero_width(c) {
            continue;
        }
        if !c.is_alphabetic() {
            end = i;
            break;
        }
        if !is_cyrillic_or_greek(c) || to_latin(c).is_none() {
            return false;
        }
        any = true;
    }
    any && !beside_genuine_word(src, start, start + end)
}

/// Whether the word before `start` or the one from `end` on (a few separators away) holds a
/// Cyrillic or Greek letter that has no Latin look-alike.
fn beside_genuine_word(src: &str, start: usize, end: usize) -> bool {
    const GAP: usize = 4;
    let genuine = |c: char| is_cyrillic_or_greek(c) && to_latin(c).is_none();
    let mut after = src[end..]
        .chars()
        .skip_while(|c| !c.is_alphabetic())
        .take_while(|c| c.is_alphabetic() || super::is_zero_width(*c));
    let gap_after = src[end..]
        .chars()
        .take_while(|c| !c.is_alphabetic())
        .count();
    if gap_after <= GAP && after.any(genuine) {
        return true;
    }
    let before = &src[..start];
    let gap_before = before
        .chars()
        .rev()
        .take_while(|c| !c.is_alphabetic())
        .count();
    gap_before <= GAP
        && before
            .chars()
            .rev()
            .skip_while(|c| !c.is_alphabetic())
            .take_while(|c| c.is_alphabetic() || super::is_zero_width(*c))
            .any(genuine)
}
