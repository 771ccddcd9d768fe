//! `search`: tantivy's query syntax over the index's fields, ranked by BM25, each hit with its
//! location and a highlighted snippet.
//!
//! The default field is the normalized text. Fields: `path`, `format`, `channel`, `page`,
//! `entry`, `attachment`, `part`, `pointer`, `domain` (a domain, its subdomains and bare
//! mentions), `url`, `email`, `ip`, `rule`, `category`, `severity` (also `severity:>=high`),
//! `finding`, `sha256`, `entry_sha256`. Words are ANDed unless `OR` is written.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Instant;

use regex::Regex;
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Score, Searcher, TantivyDocument, Term};

use super::{tokenize, CorpusIndex, Fields, Hit, IndexError, Result};
use crate::finding::Severity;

/// What a search returned.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub query: String,
    /// Pieces that match (all of them, not only those shown).
    pub total: usize,
    pub hits: Vec<Hit>,
    pub elapsed_ms: f64,
}

/// Runs `query` and returns the `limit` best pieces.
pub fn search(index: &CorpusIndex, query: &str, limit: usize) -> Result<SearchResult> {
    let started = Instant::now();
    let reader = index.reader()?;
    let searcher = reader.searcher();
    let fields = &index.fields;
    let parsed = parse(index, query)?;
    let q = pieces_only(fields, parsed);
    let (total, top) = searcher
        .search(
            &q,
            &(Count, TopDocs::with_limit(limit.max(1)).order_by_score()),
        )
        .map_err(|e| match e {
            // `email:*` and the like: a query the fields cannot answer.
            tantivy::TantivyError::SchemaError(reason) => {
                IndexError::Query(format!("{query}: {reason}"))
            }
            e => IndexError::tantivy(&index.dir, e),
        })?;
    let terms = highlight_terms(fields, &*q);
    let hits = hits_of(index, &searcher, &top, &terms, limit)?;
    Ok(SearchResult {
        query: query.to_string(),
        total,
        hits,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// Stored pieces of `top` (best first) as hits.
pub(crate) fn hits_of(
    index: &CorpusIndex,
    searcher: &Searcher,
    top: &[(Score, tantivy::DocAddress)],
    terms: &BTreeMap<String, Score>,
    limit: usize,
) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for &(score, addr) in top.iter().take(limit) {
        let doc: TantivyDocument = searcher
            .doc(addr)
            .map_err(|e| IndexError::tantivy(&index.dir, e))?;
        hits.push(Hit::build(&index.fields, &doc, score, terms));
    }
    Ok(hits)
}

static SEVERITY_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bseverity\s*:\s*(>=|<=|>|<)\s*(info|low|medium|high|critical)\b")
        .expect("static regex")
});

/// Parses user query syntax; `severity:>=high` becomes a range over the severity rank.
pub(crate) fn parse(index: &CorpusIndex, query: &str) -> Result<Box<dyn Query>> {
    if query.trim().is_empty() {
        return Err(IndexError::Query("empty query".into()));
    }
    let rewritten = SEVERITY_RANGE.replace_all(query, |c: &regex::Captures| {
        let rank = Severity::parse(&c[2]).map_or(0, |s| s as u64);
        format!("severity_rank:{}{rank}", &c[1])
    });
    let fields = &index.fields;
    let mut parser = QueryParser::new(
        index.index.schema(),
        vec![fields.text],
        super::query_tokenizers(),
    );
    parser.set_conjunction_by_default();
    parser
        .parse_query(&rewritten)
        .map_err(|e| IndexError::Query(format!("{query}: {e}")))
}

/// Excludes the per-file records, which are documents of the same index.
pub(crate) fn pieces_only(fields: &Fields, q: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, q),
        (
            Occur::MustNot,
            Box::new(TermQuery::new(
                Term::from_field_text(fields.kind, "file"),
                IndexRecordOption::Basic,
            )),
        ),
    ]))
}

/// Words to highlight: the query's text terms, plus the words of endpoint terms (so a
/// `domain:` search highlights the mention in the text).
pub(crate) fn highlight_terms(fields: &Fields, q: &dyn Query) -> BTreeMap<String, Score> {
    let mut out = BTreeMap::new();
    q.query_terms(&mut |term, _| {
        let f = term.field();
        let value = term.value();
        let Some(s) = value.as_str() else {
            return;
        };
        if f == fields.text {
            out.insert(s.to_string(), 1.0);
        } else if [fields.domain, fields.url, fields.email, fields.ip].contains(&f) {
            for w in tokenize::word_tokens(s) {
                out.insert(w, 1.0);
            }
        }
    });
    out
}
