//! Detection: one aho-corasick prefilter over every rule's anchors, regex confirmation near
//! anchor hits, obfuscation signals, endpoints, then scoring of the whole document.

mod ascii;
pub mod endpoints;
mod score;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::document::{Channel, Format, Location, Segment, SourceSpan};
use crate::error::{Error, Result};
use crate::finding::{Finding, Verdict};
use crate::normalize::{self, decode, Normalized};
use crate::rules::{Builtin, Rule, RuleSet};
pub use endpoints::Allowlist;

/// Settings that are not rules.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    pub allowlist: Allowlist,
    /// How many times decoded text is itself searched for encoded blobs.
    pub decode_depth: u32,
    /// Most decoded bytes per segment.
    pub decode_budget: usize,
    /// Count anchor hits, regex windows and matches per rule (see [`Detector::rule_stats`]).
    pub collect_stats: bool,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            allowlist: Allowlist::default(),
            decode_depth: 2,
            decode_budget: 4 << 20,
            collect_stats: false,
        }
    }
}

/// What an anchor in the shared automaton stands for.
#[derive(Debug, Clone, Copy)]
enum Target {
    Rule(u32),
    /// A phrase showing that the document talks about prompt injection (security writing).
    Topic,
}

/// Words that mark a document as writing *about* prompt injection; quoted payloads in such
/// documents are examples, not instructions.
const TOPIC_TERMS: &[&str] = &[
    "prompt injection",
    "prompt-injection",
    "prompt injections",
    "injection attack",
    "indirect injection",
    "jailbreak",
    "attackers",
    "an attacker ",
    "the attacker ",
    "adversarial",
    "red team",
    "red-team",
    "payload",
    "poisoning",
    "malicious instruction",
    "malicious prompt",
    "owasp",
    "llm01",
    "inyección de prompt",
    "inyección de instrucciones",
    "atacante",
    "injection de prompt",
    "injection d'instructions",
    "attaquant",
    "charge utile",
    "prompt-injektion",
    "angreifer",
    "injeção de prompt",
    "промпт-инъекц",
    "инъекция промпт",
    "инъекци",
    "злоумышленник",
    "提示注入",
    "提示词注入",
    "攻击者",
    "プロンプトインジェクション",
    "攻撃者",
];

/// The compiled rule set. Build once, share across threads (`&Detector` is `Sync`).
pub struct Detector {
    rules: Vec<Rule>,
    /// Each rule's confirming regex, compiled the first time one of its anchors hits: with
    /// big rule sets most regexes are never needed, and compiling them all costs seconds.
    regexes: Vec<OnceLock<Option<Regex>>>,
    /// The same regexes cut down to ASCII (see [`ascii`]), for windows of ASCII text: a
    /// fraction of the memory, and the Unicode ones are then compiled only for rules that
    /// hit in non-ASCII text.
    ascii_regexes: Vec<OnceLock<Option<regex_automata::meta::Regex>>>,
    /// Anchors written in ASCII, over every text: a DFA of about 60 byte classes, a quarter
    /// the size of one over all anchors (the non-ASCII ones bring in over 70 more classes).
    ascii_anchors: Anchors,
    /// Anchors with a non-ASCII character, only around the non-ASCII bytes of a text.
    other_anchors: Anchors,
    builtins: Vec<(Builtin, usize)>,
    config: DetectConfig,
    /// Per-rule counters, when `collect_stats` is set.
    stats: Option<Vec<RuleCounters>>,
}

#[derive(Default)]
struct RuleCounters {
    anchor_hits: AtomicU64,
    windows: AtomicU64,
    matches: AtomicU64,
}

/// How much work a rule caused: anchor hits in the prefilter, regex windows run, matches.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleStats {
    pub rule_id: String,
    pub anchor_hits: u64,
    pub windows: u64,
    pub matches: u64,
}

/// Identity of the document being scanned, copied into its findings.
#[derive(Debug, Clone)]
pub struct DocMeta {
    pub path: String,
    pub format: Format,
}

/// A rule hit before scoring: where it is and what surrounds it.
#[derive(Debug, Clone)]
struct Candidate {
    rule: usize,
    /// Index of the scanned segment (children of decoded blobs get their own).
    seg: usize,
    /// Normalized byte range in that segment; `None` for segment-wide signals.
    norm: Option<(usize, usize)>,
    channel: Channel,
    location: Location,
    excerpt: String,
    matched: String,
    endpoints: Vec<crate::finding::Endpoint>,
    /// How the surrounding prose treats the match: quoted, introduced as an example.
    context: score::Mention,
    /// The matched source text needed de-obfuscation (zero-width, look-alikes, bidi).
    obfuscated: bool,
}

impl Detector {
    pub fn new(rules: RuleSet, config: DetectConfig) -> Result<Detector> {
        let rules: Vec<Rule> = rules.rules().to_vec();
        let mut patterns: Vec<(String, Target)> = Vec::new();
        let mut regexes = Vec::with_capacity(rules.len());
        let mut ascii_regexes = Vec::with_capacity(rules.len());
        let mut builtins = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if let Some(b) = r.builtin {
                builtins.push((b, i));
            }
            for a in &r.anchors {
                patterns.push((normalize::normalize(a).text, Target::Rule(i as u32)));
            }
            regexes.push(OnceLock::new());
            ascii_regexes.push(OnceLock::new());
        }
        for t in TOPIC_TERMS {
            patterns.push((normalize::normalize(t).text, Target::Topic));
        }
        let (ascii, other): (Vec<_>, Vec<_>) =
            patterns.into_iter().partition(|(p, _)| p.is_ascii());
        let ascii_anchors = Anchors::new(ascii)?;
        let other_anchors = Anchors::new(other)?;
        let stats = config
            .collect_stats
            .then(|| rules.iter().map(|_| RuleCounters::default()).collect());
        Ok(Detector {
            rules,
            regexes,
            ascii_regexes,
            ascii_anchors,
            other_anchors,
            builtins,
            stats,
            config,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Compiles every rule's regex now, reporting the first that fails (e.g. over the size
    /// limit). Scanning compiles lazily, where a pattern that fails to compile never matches.
    pub fn compile_all(&self) -> Result<()> {
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(p) = &r.pattern {
                match Regex::new(&compiled_pattern(p)) {
                    Ok(re) => {
                        // Already set if a scan got there first; either copy is the same.
                        let _ = self.regexes[i].set(Some(re));
                        self.ascii_regex(i);
                    }
                    Err(e) => {
                        return Err(Error::Rules {
                            path: r.source.clone().into(),
                            reason: format!("rule {}: {e}", r.id),
                        })
                    }
                }
            }
        }
        Ok(())
    }

    fn regex(&self, rule: usize) -> Option<&Regex> {
        self.regexes[rule]
            .get_or_init(|| {
                self.rules[rule]
                    .pattern
                    .as_deref()
                    .and_then(|p| Regex::new(&compiled_pattern(p)).ok())
            })
            .as_ref()
    }

    fn ascii_regex(&self, rule: usize) -> Option<&regex_automata::meta::Regex> {
        self.ascii_regexes[rule]
            .get_or_init(|| {
                self.rules[rule]
                    .pattern
                    .as_deref()
                    .and_then(|p| ascii::compile(&compiled_pattern(p)))
            })
            .as_ref()
    }

    /// Bytes held by the anchor automata, and whether they are the fast DFA.
    pub fn prefilter_size(&self) -> (usize, bool) {
        let (a, o) = (&self.ascii_anchors.automaton, &self.other_anchors.automaton);
        (
            a.memory_usage() + o.memory_usage(),
            a.kind() == AhoCorasickKind::DFA && o.kind() == AhoCorasickKind::DFA,
        )
    }

    /// Counters per rule since the detector was built (empty unless `collect_stats`).
    pub fn rule_stats(&self) -> Vec<RuleStats> {
        let Some(stats) = &self.stats else {
            return Vec::new();
        };
        self.rules
            .iter()
            .zip(stats)
            .map(|(r, c)| RuleStats {
                rule_id: r.id.clone(),
                anchor_hits: c.anchor_hits.load(Ordering::Relaxed),
                windows: c.windows.load(Ordering::Relaxed),
                matches: c.matches.load(Ordering::Relaxed),
            })
            .collect()
    }

    fn count(&self, rule: usize, field: fn(&RuleCounters) -> &AtomicU64, n: u64) {
        if let Some(stats) = &self.stats {
            field(&stats[rule]).fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// Scans all segments of one document and scores them together. Findings come back
    /// sorted by location, without `doc_sha256` and `finding_id` (see [`Finding::assign_id`]).
    pub fn scan_segments(&self, meta: &DocMeta, segments: &[Segment]) -> (Vec<Finding>, Verdict) {
        let mut state = DocState::default();
        self.scan_all(segments, &mut state);
        score::finish(self, meta, state)
    }

    /// [`Detector::scan_segments`], also returning every text it read with its normalized
    /// form, so a caller that indexes the text does not normalize and decode it again.
    pub fn scan_segments_keeping_texts(
        &self,
        meta: &DocMeta,
        segments: &[Segment],
    ) -> (Vec<Finding>, Verdict, Vec<ScannedText>) {
        let mut state = DocState {
            texts: Some(Vec::new()),
            ..DocState::default()
        };
        self.scan_all(segments, &mut state);
        let texts = state.texts.take().unwrap_or_default();
        let (findings, verdict) = score::finish(self, meta, state);
        (findings, verdict, texts)
    }

    fn scan_all(&self, segments: &[Segment], state: &mut DocState) {
        for (i, seg) in segments.iter().enumerate() {
            state.segment = i;
            self.scan_text(&seg.text, seg.channel, &seg.location, &seg.span, 0, state);
        }
    }

    /// Scans one run of text (and, recursively, what is smuggled or encoded in it).
    fn scan_text(
        &self,
        text: &str,
        channel: Channel,
        location: &Location,
        span: &SourceSpan,
        depth: u32,
        state: &mut DocState,
    ) {
        if text.is_empty() {
            return;
        }
        let seg = state.segments;
        state.segments += 1;
        let norm = normalize::normalize(text);
        let hits = self.match_rules(&norm.text, &mut state.topic);
        let mut lines = LineIndex::new(text);
        for (rule, start, end) in hits {
            let (s, e) = norm.map.source_range(text, start, end);
            let obfuscated = normalize::normalize(&text[s..e]).stats.is_obfuscated();
            state.candidates.push(Candidate {
                rule,
                seg,
                norm: Some((start, end)),
                channel,
                location: locate(location, span, &mut lines, s, e),
                excerpt: excerpt(text, s, e),
                matched: norm.text[start..end].to_string(),
                endpoints: endpoints::extract(window(text, s, e, 240)),
                context: score::mention(&norm.text, start, end),
                obfuscated,
            });
        }
        self.obfuscation_signals(
            text, &norm, channel, location, span, &mut lines, seg, depth, state,
        );
        if depth < self.config.decode_depth {
            for blob in decode::find_encoded(text, self.config.decode_budget) {
                let child = child_span(span, &mut lines, blob.src_start, blob.src_end);
                self.scan_text(&blob.text, blob.channel, location, &child, depth + 1, state);
            }
        }
        if let Some(texts) = &mut state.texts {
            texts.push(ScannedText {
                segment: state.segment,
                depth,
                channel,
                span: span.clone(),
                decoded: (depth > 0).then(|| text.to_string()),
                normalized: norm.text,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn obfuscation_signals(
        &self,
        text: &str,
        norm: &Normalized,
        channel: Channel,
        location: &Location,
        span: &SourceSpan,
        lines: &mut LineIndex,
        seg: usize,
        depth: u32,
        state: &mut DocState,
    ) {
        for &(builtin, rule) in &self.builtins {
            let first = match builtin {
                Builtin::TagSmuggling => {
                    for run in &norm.tag_runs {
                        if run.text.trim().chars().count() >= 4 {
                            state.candidates.push(Candidate {
                                rule,
                                seg,
                                norm: None,
                                channel: Channel::UnicodeTags,
                                location: locate(location, span, lines, run.src_start, run.src_end),
                                excerpt: excerpt(&run.text, 0, run.text.len()),
                                matched: run.text.chars().take(200).collect(),
                                endpoints: endpoints::extract(&run.text),
                                context: score::Mention::default(),
                                obfuscated: true,
                            });
                        }
                        let child = child_span(span, lines, run.src_start, run.src_end);
                        self.scan_text(&run.text, Channel::UnicodeTags, location, &child, depth + 1, state);
                    }
                    None
                }
                Builtin::ZeroWidthSplitting if norm.stats.zero_width_in_words >= 3 => {
                    text.find(|c| matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'))
                }
                Builtin::HomoglyphMixing if norm.stats.confusables_folded >= 3 => {
                    first_mixed_word(text)
                }
                Builtin::BidiControls if norm.stats.bidi_controls >= 1 => {
                    text.find(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'))
                }
                _ => None,
            };
            if let Some(at) = first {
                let end = (at + 1..=text.len())
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(text.len());
                state.candidates.push(Candidate {
                    rule,
                    seg,
                    norm: None,
                    channel,
                    location: locate(location, span, lines, at, end),
                    excerpt: excerpt(text, at, end),
                    matched: String::new(),
                    endpoints: Vec::new(),
                    context: score::Mention::default(),
                    obfuscated: true,
                });
            }
        }
    }

    /// Rule hits in normalized text as (rule index, start, end), sorted and deduplicated.
    fn match_rules(&self, norm: &str, topic: &mut u32) -> Vec<(usize, usize, usize)> {
        let mut anchors: Vec<(usize, usize, usize)> = Vec::new();
        self.ascii_anchors
            .find(norm.as_bytes(), 0, topic, &mut anchors);
        // A non-ASCII anchor covers a non-ASCII byte and is at most `reach` bytes long, so
        // it lies within `reach` bytes of one: the second automaton runs on windows around
        // clusters of non-ASCII bytes (none in ASCII text). Consecutive windows can overlap
        // only in ASCII bytes, where no such anchor fits, so nothing is found twice.
        let bytes = norm.as_bytes();
        let reach = self.other_anchors.longest;
        let mut at = 0;
        while let Some(p) = bytes[at..].iter().position(|b| !b.is_ascii()) {
            if self.other_anchors.targets.is_empty() {
                break;
            }
            let start = (at + p).saturating_sub(reach - 1);
            let mut end = at + p + 1;
            // Extend over every non-ASCII byte within reach of the window's last one.
            while let Some(q) = bytes[end..(end + reach).min(bytes.len())]
                .iter()
                .position(|b| !b.is_ascii())
            {
                end += q + 1;
            }
            let end = (end + reach - 1).min(bytes.len());
            self.other_anchors
                .find(&bytes[start..end], start, topic, &mut anchors);
            at = end;
        }
        if anchors.is_empty() {
            return Vec::new();
        }
        anchors.sort_unstable();
        let mut hits = Vec::new();
        let mut i = 0;
        while i < anchors.len() {
            let rule = anchors[i].0;
            let mut j = i;
            while j < anchors.len() && anchors[j].0 == rule {
                j += 1;
            }
            let group = &anchors[i..j];
            self.count(rule, |c| &c.anchor_hits, group.len() as u64);
            if self.rules[rule].pattern.is_none() {
                self.count(rule, |c| &c.matches, group.len() as u64);
                hits.extend(group.iter().copied());
            } else {
                self.confirm(rule, group, norm, &mut hits);
            }
            i = j;
        }
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    /// Runs the rule's regex over merged windows around its anchor hits; keeps matches that
    /// overlap an anchor.
    fn confirm(
        &self,
        rule: usize,
        group: &[(usize, usize, usize)],
        norm: &str,
        hits: &mut Vec<(usize, usize, usize)>,
    ) {
        let w = self.rules[rule].window;
        let mut k = 0;
        while k < group.len() {
            let ws = floor_boundary(norm, group[k].1.saturating_sub(w));
            let mut we = ceil_boundary(norm, group[k].2 + w);
            let first = k;
            k += 1;
            while k < group.len() && group[k].1.saturating_sub(w) <= we {
                we = ceil_boundary(norm, group[k].2 + w);
                k += 1;
            }
            let spans = &group[first..k];
            self.count(rule, |c| &c.windows, 1);
            let hay = &norm[ws..we];
            let mut keep = |ms: usize, me: usize| {
                let (ms, me) = (ws + ms, ws + me);
                if me > ms && spans.iter().any(|&(_, s, e)| ms < e && s < me) {
                    self.count(rule, |c| &c.matches, 1);
                    hits.push((rule, ms, me));
                }
            };
            match self.ascii_regex(rule) {
                Some(re) if hay.is_ascii() => {
                    re.find_iter(hay.as_bytes())
                        .for_each(|m| keep(m.start(), m.end()));
                }
                _ => {
                    if let Some(re) = self.regex(rule) {
                        re.find_iter(hay).for_each(|m| keep(m.start(), m.end()));
                    }
                }
            }
        }
    }
}

/// Above this size a DFA stops paying for itself (it no longer fits in cache) and memory
/// would grow with the rule set; the contiguous NFA is about half as fast but a tenth the size.
const MAX_DFA_BYTES: usize = 32 << 20;

/// One anchor automaton and what each of its patterns stands for.
struct Anchors {
    automaton: AhoCorasick,
    targets: Vec<Target>,
    /// Longest pattern, in bytes (at least 1).
    longest: usize,
}

impl Anchors {
    fn new(patterns: Vec<(String, Target)>) -> Result<Anchors> {
        let longest = patterns
            .iter()
            .map(|(p, _)| p.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let (patterns, targets): (Vec<String>, Vec<Target>) = patterns.into_iter().unzip();
        let automaton = build_automaton(&patterns)
            .map_err(|e| Error::Usage(format!("cannot build the anchor automaton: {e}")))?;
        Ok(Anchors {
            automaton,
            targets,
            longest,
        })
    }

    /// Every occurrence in `hay` (which starts at byte `offset` of the text): topic terms
    /// are counted, rule anchors pushed as (rule, start, end).
    fn find(
        &self,
        hay: &[u8],
        offset: usize,
        topic: &mut u32,
        anchors: &mut Vec<(usize, usize, usize)>,
    ) {
        for m in self.automaton.find_overlapping_iter(hay) {
            match self.targets[m.pattern().as_usize()] {
                Target::Topic => *topic += 1,
                Target::Rule(r) => anchors.push((r as usize, offset + m.start(), offset + m.end())),
            }
        }
    }
}

/// One automaton over every anchor: a DFA when it stays small, else a contiguous NFA.
fn build_automaton(patterns: &[String]) -> Result<AhoCorasick, aho_corasick::BuildError> {
    let nfa = || {
        AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(patterns)
    };
    // The DFA has about one state per anchor byte; far past the budget, don't even try.
    if patterns.iter().map(String::len).sum::<usize>() > 200_000 {
        return nfa();
    }
    let dfa = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .match_kind(MatchKind::Standard)
        .build(patterns);
    match dfa {
        Ok(a) if a.memory_usage() <= MAX_DFA_BYTES => Ok(a),
        _ => nfa(),
    }
}

/// The verdict over findings gathered in several passes (chunks of one large file).
pub fn verdict_of(meta: &DocMeta, findings: &[Finding]) -> Verdict {
    score::verdict(meta, findings)
}

/// The pattern as compiled: a pattern written in ASCII gets ASCII word boundaries.
///
/// A Unicode `\b` stops the regex crate's lazy DFA at the first non-ASCII byte of a window and
/// falls back to an engine about 20 times slower, so any document with a curly quote or an
/// accented name would be slow. For a pattern whose words are all ASCII, an ASCII boundary
/// differs only next to non-ASCII letters, where it does not matter. Patterns with
/// non-ASCII words (Cyrillic, accented) keep Unicode boundaries.
fn compiled_pattern(pattern: &str) -> String {
    if pattern.is_ascii() {
        ascii_word_boundaries(pattern)
    } else {
        pattern.to_string()
    }
}

/// Makes `\b` and `\B` ASCII word boundaries (outside character classes).
pub fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    let mut class_depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(b @ ('b' | 'B')) if class_depth == 0 => {
                    out.push_str("(?-u:\\");
                    out.push(b);
                    out.push(')');
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                class_depth += 1;
                out.push(c);
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Per-document accumulation while its segments are scanned.
#[derive(Default)]
struct DocState {
    candidates: Vec<Candidate>,
    segments: usize,
    /// Mentions of prompt injection as a topic.
    topic: u32,
    /// The texts read, when the caller keeps them (see [`Detector::scan_segments_keeping_texts`]).
    texts: Option<Vec<ScannedText>>,
    /// Index of the input segment being scanned.
    segment: usize,
}

/// A text the detector read, with its normalized form: a segment's text, or text decoded or
/// un-smuggled out of one (base64, hex, percent-encoding, character references, Unicode tag
/// characters). For callers that keep what was read, like the corpus index.
#[derive(Debug, Clone)]
pub struct ScannedText {
    /// Index of the segment it is, or came out of.
    pub segment: usize,
    /// 0 for a segment's own text, 1 and more for text decoded out of it.
    pub depth: u32,
    pub channel: Channel,
    /// Where it is; for decoded text, the encoded region it came from.
    pub span: SourceSpan,
    /// The decoded text (`None` at depth 0: the segment's text).
    pub decoded: Option<String>,
    pub normalized: String,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn window(text: &str, s: usize, e: usize, pad: usize) -> &str {
    &text[floor_boundary(text, s.saturating_sub(pad))..ceil_boundary(text, e + pad)]
}

fn first_mixed_word(text: &str) -> Option<usize> {
    let mut prev_alpha = false;
    for (i, c) in text.char_indices() {
        let alpha = c.is_alphabetic();
        if alpha && !prev_alpha && crate::normalize::word_is_mixed(&text[i..]) {
            return Some(i);
        }
        prev_alpha = alpha;
    }
    None
}

/// Newline positions of a segment, built only when a hit needs a line number.
struct LineIndex<'a> {
    text: &'a str,
    newlines: Option<Vec<usize>>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        LineIndex {
            text,
            newlines: None,
        }
    }

    /// 0-based line and 0-based char column of byte `at`.
    fn position(&mut self, at: usize) -> (u32, u32) {
        let text = self.text;
        let nl = self
            .newlines
            .get_or_insert_with(|| memchr::memchr_iter(b'\n', text.as_bytes()).collect());
        let line = nl.partition_point(|&p| p < at);
        let line_start = if line == 0 { 0 } else { nl[line - 1] + 1 };
        let col = text
            .get(line_start..at)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line as u32, col as u32)
    }
}

/// The finding's location: the segment's fixed fields plus line, column and byte range.
fn locate(
    base: &Location,
    span: &SourceSpan,
    lines: &mut LineIndex,
    s: usize,
    e: usize,
) -> Location {
    let mut loc = base.clone();
    if span.verbatim {
        if let Some(b) = span.byte_start {
            loc.byte_start = Some(b + s as u64);
            loc.byte_end = Some(b + e as u64);
        }
    } else {
        loc.byte_start = span.byte_start;
        loc.byte_end = span.byte_end;
    }
    if let Some(base_line) = span.line {
        let (dl, col) = lines.position(s);
        loc.line = Some(base_line + dl);
        let base_col = if dl == 0 { span.column.unwrap_or(1) } else { 1 };
        loc.column = Some(base_col + col);
    }
    loc
}

/// Span for text decoded out of `s..e` of a segment: it points at the encoded region.
fn child_span(parent: &SourceSpan, lines: &mut LineIndex, s: usize, e: usize) -> SourceSpan {
    let (byte_start, byte_end) = match (parent.verbatim, parent.byte_start) {
        (true, Some(b)) => (Some(b + s as u64), Some(b + e as u64)),
        _ => (parent.byte_start, parent.byte_end),
    };
    let (line, column) = match parent.line {
        Some(base) => {
            let (dl, col) = lines.position(s);
            let base_col = if dl == 0 {
                parent.column.unwrap_or(1)
            } else {
                1
            };
            (Some(base + dl), Some(base_col + col))
        }
        None => (None, None),
    };
    SourceSpan {
        byte_start,
        byte_end,
        verbatim: false,
        line,
        column,
    }
}

/// About 80 characters of context each side, invisible characters shown escaped.
pub fn excerpt(text: &str, s: usize, e: usize) -> String {
    let start = text[..s]
        .char_indices()
        .rev()
        .nth(79)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let end = text[e..]
        .char_indices()
        .nth(80)
        .map(|(i, _)| e + i)
        .unwrap_or(text.len());
    let mid_end = if e - s > 400 {
        ceil_boundary(text, s + 400)
    } else {
        e
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    escape_into(&mut out, &text[start..mid_end]);
    if mid_end < e {
        out.push('…');
    } else {
        escape_into(&mut out, &text[e..end]);
    }
    if end < text.len() && mid_end == e {
        out.push('…');
    }
    out
}

/// Shows invisible and control characters as `\u{XXXX}`; line breaks become spaces.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' | ' ' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{E0000}'..='\u{E007F}') =>
            {
                out.push_str(&format!("\\u{{{:04X}}}", c as u32));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_word_boundaries;

    #[test]
    fn word_boundaries_become_ascii_outside_classes() {
        assert_eq!(
            ascii_word_boundaries(r"\bignore\b"),
            r"(?-u:\b)ignore(?-u:\b)"
        );
        assert_eq!(
            ascii_word_boundaries(r"[\b\]x]\B\\b"),
            r"[\b\]x](?-u:\B)\\b"
        );
    }
}
