//! One function per checklist item: each runs its checks and says what it found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use super::{provably_benign, Ctx, Item, Status};
use crate::credentials::{self, Credential, Options};
use crate::finding::Severity;
use crate::index::similar::{similar, Payload, SimilarOptions};
use crate::index::sweep::{sweep, Ioc, IocKind};
use crate::index::CorpusIndex;
use crate::manifest;
use crate::purge;
use crate::store::StoreOptions;
use crate::triage::InjectionSource;
use crate::vault::{hash_file, Item as VaultItem, ItemKind, ItemState};

/// Findings at or above this count as injected instructions (triage's and purge's default).
const MIN_SEVERITY: Severity = Severity::Medium;

fn not_checked(item: &mut Item, what: &str) {
    item.evidence.push(format!("not checked: {what}"));
}

/// The file the injected response came from, from the call's parameters.
pub(crate) fn source_ref(src: &InjectionSource) -> Option<String> {
    let params = src.params.as_ref()?.as_object()?;
    [
        "path",
        "file",
        "file_path",
        "filename",
        "uri",
        "url",
        "document",
    ]
    .iter()
    .find_map(|k| params.get(*k)?.as_str())
    .map(|s| s.strip_prefix("file://").unwrap_or(s).to_string())
}

/// `path` is `rel` or ends with its components (`/cases/corpus/reports/a.pdf` and
/// `reports/a.pdf`).
pub(crate) fn path_matches(path: &str, rel: &str) -> bool {
    let names = |s: &str| -> Vec<String> {
        Path::new(s)
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let (p, r) = (names(path), names(rel));
    !r.is_empty() && p.len() >= r.len() && p[p.len() - r.len()..] == r[..]
}

/// Vault items holding a file at the source's path, in manifest order.
pub(crate) fn vault_items_for<'v>(items: &'v [VaultItem], rel: &str) -> Vec<&'v VaultItem> {
    items
        .iter()
        .filter(|it| it.record.kind == Some(ItemKind::File))
        .filter(|it| {
            it.record
                .original_path
                .as_deref()
                .is_some_and(|p| path_matches(p, rel))
        })
        .collect()
}

fn describe_source(src: &InjectionSource) -> String {
    format!(
        "injection source: {} call at {} ({}, log line {}), params {}; finding {} {} ({}) `{}`; response sha256 {}",
        src.tool,
        src.ts,
        src.t,
        src.line,
        src.params
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "none".into()),
        src.finding.rule_id,
        src.finding.severity.as_str(),
        src.finding.finding_id,
        src.finding.excerpt,
        src.response_sha256
    )
}

/// Item 1: the source's bytes are in the vault (verified), gone from their path and from the
/// corpus.
pub fn quarantine_source(ctx: &Ctx) -> Item {
    let mut item = Item::new(1, Status::Todo);
    let Some(triaged) = &ctx.triage else {
        not_checked(
            &mut item,
            "no session log: pass --session LOG to find the injection source",
        );
        return item;
    };
    let view = match triaged {
        Ok(v) => v,
        Err(e) => {
            item.evidence
                .push(format!("the session log could not be triaged: {e}"));
            return item;
        }
    };
    let s = &view.session;
    item.evidence.push(format!(
        "triage: session {} is {} ({} session(s) in {})",
        s.session_id, s.classification, view.sessions, view.log
    ));
    let Some(src) = &s.injection_source else {
        if provably_benign(s) {
            item.status = Status::NotApplicable;
            item.evidence.push(format!(
                "no injected instructions in any of the {} logged responses",
                s.responses.logged
            ));
        } else {
            item.evidence.push(format!(
                "no injection source found: {} responses logged, {} not logged",
                s.responses.logged, s.responses.missing
            ));
            item.actions.push(
                "identify the content that introduced the instructions (responses not logged \
                 cannot be scanned) and quarantine it"
                    .into(),
            );
        }
        return item;
    };
    item.evidence.push(describe_source(src));
    let Some(rel) = source_ref(src) else {
        item.evidence
            .push("the source call has no file path parameter".into());
        item.actions.push(format!(
            "locate the content the {} call returned and quarantine it: mcpsweep quarantine PATH --vault {} --incident {}",
            src.tool,
            ctx.vault_arg(),
            ctx.inputs.incident
        ));
        return item;
    };

    // Where the vault says the source went.
    let mut quarantined: Option<(u64, String, String)> = None; // (item, sha256, original path)
    match &ctx.vault {
        None => not_checked(
            &mut item,
            "pass --vault DIR to check the source is in the vault",
        ),
        Some(Err(e)) => item.evidence.push(e.clone()),
        Some(Ok(vault)) => {
            let items = vault.items();
            let verify = ctx.vault_verify.as_ref();
            let chain: Vec<&String> = verify
                .map(|v| {
                    v.problems
                        .iter()
                        .filter(|p| p.starts_with("manifest:"))
                        .collect()
                })
                .unwrap_or_default();
            for p in &chain {
                item.status = Status::Failed;
                item.evidence
                    .push(format!("vault {}: {p}", vault.dir().display()));
            }
            let found = vault_items_for(&items, &rel);
            if found.is_empty() {
                item.evidence.push(format!(
                    "no vault item holds {rel} (vault {}, {} items)",
                    vault.dir().display(),
                    items.len()
                ));
            }
            for it in found {
                let sha = it.record.sha256.clone().unwrap_or_default();
                let orig = it.record.original_path.clone().unwrap_or_default();
                item.evidence.push(format!(
                    "vault item {}: {} sha256 {sha}, {}",
                    it.id,
                    orig,
                    it.state.as_str()
                ));
                if it.state != ItemState::Quarantined {
                    continue;
                }
                match hash_file(&vault.object_path(&sha)) {
                    Ok(h) if h == sha => {
                        item.evidence.push(format!(
                            "vault object of item {} verified (sha256 matches)",
                            it.id
                        ));
                        quarantined = Some((it.id, sha.clone(), orig.clone()));
                    }
                    Ok(h) => {
                        item.status = Status::Failed;
                        item.evidence.push(format!(
                            "vault object of item {} has sha256 {h}, the manifest says {sha}",
                            it.id
                        ));
                    }
                    Err(e) => {
                        item.status = Status::Failed;
                        item.evidence.push(format!(
                            "vault object of item {} cannot be read: {e}",
                            it.id
                        ));
                    }
                }
                match hash_file(Path::new(&orig)) {
                    Ok(h) if h == sha => {
                        item.status = Status::Failed;
                        item.evidence.push(format!(
                            "{orig} is back at its original path with the quarantined bytes"
                        ));
                    }
                    Ok(_) => item.evidence.push(format!(
                        "a different file is at {orig} now (not the quarantined bytes)"
                    )),
                    Err(_) => item
                        .evidence
                        .push(format!("{orig} is no longer at its original path")),
                }
            }
        }
    }

    // Copies still in the corpus: the source's path, or its quarantined bytes elsewhere.
    let mut in_corpus = Vec::new();
    match &ctx.corpus {
        None => not_checked(
            &mut item,
            "pass --corpus DIR to check no copy of the source remains",
        ),
        Some(Err(e)) => item.evidence.push(e.clone()),
        Some(Ok(scan)) => {
            let mut seen = BTreeSet::new();
            for v in &scan.documents {
                let same_bytes = quarantined.as_ref().is_some_and(|q| q.1 == v.doc_sha256);
                if (path_matches(&v.path, &rel) || same_bytes) && seen.insert(v.path.clone()) {
                    in_corpus.push((v.path.clone(), v.doc_sha256.clone()));
                }
            }
            if in_corpus.is_empty() {
                item.evidence.push(format!(
                    "corpus: no file at {rel} and no copy of the source among {} documents scanned",
                    scan.summary.documents
                ));
            }
            for (p, sha) in &in_corpus {
                item.evidence.push(format!(
                    "corpus: {p} (sha256 {sha}) still carries the payload"
                ));
                if item.status != Status::Failed && quarantined.is_some() {
                    item.status = Status::Failed;
                    item.evidence.push(format!(
                        "{p} is in the corpus although the source was quarantined"
                    ));
                }
                item.actions.push(format!(
                    "mcpsweep quarantine {p} --vault {} --incident {}",
                    ctx.vault_arg(),
                    ctx.inputs.incident
                ));
            }
        }
    }
    if item.status == Status::Failed {
        return item;
    }
    let corpus_clean = matches!(&ctx.corpus, Some(Ok(_))) && in_corpus.is_empty();
    if quarantined.is_some() && corpus_clean {
        item.status = Status::Done;
    } else if quarantined.is_none() && in_corpus.is_empty() {
        item.actions.push(format!(
            "quarantine {rel}: mcpsweep quarantine PATH/{rel} --vault {} --incident {}",
            ctx.vault_arg(),
            ctx.inputs.incident
        ));
    }
    item
}

/// Reads `--rotated`: `FINGERPRINT` (rotated) or `FINGERPRINT new` per line, `#` comments.
fn read_rotated(path: &Path) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (mut rotated, mut fresh) = (BTreeSet::new(), BTreeSet::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let fp = words.next().unwrap_or("").to_ascii_lowercase();
        if fp.len() != 12 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "{}:{}: expected a 12-hex-digit fingerprint, got {fp:?}",
                path.display(),
                n + 1
            ));
        }
        match words.next() {
            None => rotated.insert(fp),
            Some("new") => fresh.insert(fp),
            Some(w) => {
                return Err(format!(
                    "{}:{}: unknown marker {w:?} (expected nothing or `new`)",
                    path.display(),
                    n + 1
                ))
            }
        };
    }
    Ok((rotated, fresh))
}

fn where_found(c: &Credential) -> String {
    c.locations
        .iter()
        .map(|l| match l.line {
            Some(n) => format!("{}:{n}", l.path),
            None => l.path.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Item 2: every credential the agent held (configs, session log, memory) confirmed rotated.
pub fn rotate_credentials(ctx: &Ctx, contained_at: Option<DateTime<FixedOffset>>) -> Item {
    let mut item = Item::new(2, Status::Todo);
    let inputs = ctx.inputs;
    let mut opts = Options {
        threads: 1,
        ..Options::default()
    };
    if let Some(t) = contained_at {
        opts.contained_at = t;
    }
    let mut others: Vec<PathBuf> = inputs.session.iter().cloned().collect();
    others.extend(inputs.memory.iter().cloned());
    let mut creds: BTreeMap<String, (Credential, bool)> = BTreeMap::new(); // key -> (cred, deployed)
    let mut unreadable = Vec::new();
    for (paths, deployed) in [(&inputs.agent_config, true), (&others, false)] {
        if paths.is_empty() {
            continue;
        }
        match credentials::collect(paths, &opts) {
            Ok(report) => {
                for e in report.errors.iter().filter(|e| e.is_unreadable()) {
                    unreadable.push(format!("{}: {}", e.path, e.reason));
                }
                for c in report.credentials {
                    let key = c
                        .fingerprint
                        .clone()
                        .unwrap_or_else(|| format!("prompted:{}", where_found(&c)));
                    let entry = creds.entry(key).or_insert((c.clone(), false));
                    entry.1 |= deployed;
                    if !deployed {
                        entry.0.locations.extend(c.locations);
                    }
                }
            }
            Err(e) => unreadable.push(e.to_string()),
        }
    }
    for u in &unreadable {
        item.evidence.push(format!("unreadable: {u}"));
    }
    if inputs.agent_config.is_empty() {
        not_checked(
            &mut item,
            "pass --agent-config PATH (MCP client configs, .env files) to list the credentials the agent held",
        );
    }
    let confirmed = match inputs.rotated.as_deref().map(read_rotated) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            item.evidence.push(format!("--rotated: {e}"));
            None
        }
    };
    item.evidence.push(format!(
        "{} credential(s) found in {} agent config path(s), the session log and {} memory store(s)",
        creds.len(),
        inputs.agent_config.len(),
        inputs.memory.len()
    ));
    let (mut open, mut failed) = (0usize, 0usize);
    for (key, (c, deployed)) in &creds {
        let fp = c.fingerprint.as_deref().unwrap_or("-");
        let state = match &confirmed {
            Some((rot, _)) if rot.contains(key) && *deployed => {
                failed += 1;
                "FAILED: marked rotated but the same secret is still deployed in an agent config"
            }
            Some((rot, _)) if rot.contains(key) => "rotated (confirmed)",
            Some((_, fresh)) if fresh.contains(key) => {
                "replacement issued after containment (confirmed)"
            }
            _ => {
                open += 1;
                "not confirmed rotated"
            }
        };
        item.evidence.push(format!(
            "{} `{}` fingerprint {fp} preview {} in {}: {state}",
            c.service,
            c.kind,
            c.preview.as_deref().unwrap_or("-"),
            where_found(c)
        ));
        if state == "not confirmed rotated" {
            item.actions.push(format!(
                "rotate {} `{}` ({fp}): {}",
                c.service, c.kind, c.rotation_action
            ));
        }
    }
    if let Some((rot, fresh)) = &confirmed {
        for fp in rot
            .iter()
            .chain(fresh)
            .filter(|fp| !creds.contains_key(*fp))
        {
            item.evidence.push(format!(
                "{fp}: confirmed in --rotated, not found in any agent config, log or store now"
            ));
        }
    }
    if open > 0 {
        item.actions.push(format!(
            "then list each fingerprint in --rotated FILE (`FINGERPRINT` once revoked, `FINGERPRINT new` for a replacement now deployed); {open} not yet confirmed"
        ));
    }
    item.status = if failed > 0 {
        Status::Failed
    } else if !unreadable.is_empty() || inputs.agent_config.is_empty() {
        Status::Todo
    } else if creds.is_empty() {
        item.evidence
            .push("no credential found anywhere the agent held them".into());
        Status::NotApplicable
    } else if open == 0 && confirmed.is_some() {
        Status::Done
    } else {
        Status::Todo
    };
    item
}

/// Item 3: per store, a purge record in the vault and a fresh verify with no residue.
pub fn audit_memory(ctx: &Ctx) -> Item {
    let mut item = Item::new(3, Status::Todo);
    let inputs = ctx.inputs;
    if inputs.memory.is_empty() {
        not_checked(
            &mut item,
            "pass --memory STORE for each memory store of the agent",
        );
        return item;
    }
    match &ctx.vault {
        None => not_checked(
            &mut item,
            "pass --vault DIR: without it purge records and purged entries coming back cannot be checked",
        ),
        Some(Err(e)) => item.evidence.push(format!(
            "{e}: purge records and purged entries coming back cannot be checked"
        )),
        Some(Ok(_)) => {}
    }
    let mut worst = Status::Done;
    for store in &inputs.memory {
        let shown = store.display();
        let purged: Vec<VaultItem> = match (ctx.vault(), crate::vault::files::absolute(store)) {
            (Some(v), Ok(abs)) => {
                let abs = abs.display().to_string();
                v.items()
                    .into_iter()
                    .filter(|it| {
                        it.record.kind == Some(ItemKind::StoreEntry)
                            && it.record.original_path.as_deref() == Some(abs.as_str())
                            && it.state == ItemState::Quarantined
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let report = purge::verify(
            &ctx.detector,
            store,
            None,
            &StoreOptions::default(),
            MIN_SEVERITY,
            ctx.vault(),
        );
        let status = match report {
            Err(e) => {
                item.evidence.push(format!("{e}"));
                Status::Todo
            }
            Ok(r) => {
                item.evidence.push(format!(
                    "{shown}: {} store, {} entries; {} purge record(s) in the vault{}",
                    r.kind.map(|k| k.as_str()).unwrap_or("?"),
                    r.entries,
                    purged.len(),
                    if purged.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (entries {})",
                            purged
                                .iter()
                                .map(|p| p.record.entry_id.clone().unwrap_or_default())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ));
                for f in &r.findings {
                    item.evidence.push(format!(
                        "{shown}: entry {} carries {} {} ({}): {}",
                        f.location.entry.as_deref().unwrap_or("?"),
                        f.rule_id,
                        f.severity.as_str(),
                        f.finding_id,
                        f.excerpt
                    ));
                }
                for res in &r.residue {
                    item.evidence.push(format!("{shown}: residue: {res}"));
                }
                if r.is_clean() {
                    item.evidence.push(format!(
                        "{shown}: verify clean: no finding at or above {} in the entries or raw bytes{}",
                        MIN_SEVERITY.as_str(),
                        if ctx.vault().is_some() {
                            format!(", {} purged entries not back", r.purged_checked)
                        } else {
                            String::new()
                        }
                    ));
                    if ctx.vault().is_some() {
                        Status::Done
                    } else {
                        Status::Todo
                    }
                } else if !purged.is_empty() {
                    item.evidence
                        .push(format!("{shown}: a purge is recorded but residue remains"));
                    Status::Failed
                } else {
                    item.actions.push(format!(
                        "mcpsweep purge {shown} --vault {} --incident {}, then mcpsweep verify {shown} --vault {}",
                        ctx.vault_arg(),
                        inputs.incident,
                        ctx.vault_arg()
                    ));
                    Status::Todo
                }
            }
        };
        worst = worst.max(status);
    }
    item.status = worst;
    item
}

/// Item 4: `manifest check` of the current manifest against the pinned baseline.
pub fn verify_manifest(ctx: &Ctx) -> Item {
    let mut item = Item::new(4, Status::Todo);
    let (Some(base), Some(cur)) = (&ctx.inputs.manifest_baseline, &ctx.inputs.manifest) else {
        not_checked(
            &mut item,
            "pass --manifest-baseline FILE and --manifest SOURCE (the tools/list answer served now)",
        );
        return item;
    };
    let loaded = manifest::from_file(base)
        .map_err(|e| format!("manifest baseline: {e}"))
        .and_then(|b| {
            manifest::from_file(cur)
                .map(|c| (b, c))
                .map_err(|e| format!("current manifest: {e}"))
        });
    let (baseline, current) = match loaded {
        Ok(x) => x,
        Err(e) => {
            item.evidence.push(e);
            return item;
        }
    };
    let detector = match manifest::poison::manifest_detector(crate::DetectConfig::default()) {
        Ok(d) => d,
        Err(e) => {
            item.evidence.push(format!("poisoning scan: {e}"));
            return item;
        }
    };
    let ts = super::rfc3339(ctx.inputs.now);
    let r = manifest::report::check(&detector, &baseline, &current, &ts);
    item.evidence.push(format!(
        "baseline {} manifest sha256 {} ({} tools); current {} manifest sha256 {} ({} tools)",
        base.display(),
        r.baseline.manifest_sha256,
        r.baseline.tools,
        cur.display(),
        r.current.manifest_sha256,
        r.current.tools
    ));
    item.evidence.push(format!(
        "drift: {} added, {} removed, {} changed, {} unchanged; instructions {}",
        r.counts.added,
        r.counts.removed,
        r.counts.changed,
        r.counts.unchanged,
        if !r.instructions.compared {
            "not compared"
        } else if r.instructions.changed {
            "changed"
        } else {
            "unchanged"
        }
    ));
    for c in &r.changes {
        item.evidence.push(format!(
            "{} {} [{}] sha256 {} -> {}",
            c.change.as_str(),
            c.tool,
            c.fields.join(", "),
            c.sha256_old.as_deref().unwrap_or("-"),
            c.sha256_new.as_deref().unwrap_or("-")
        ));
    }
    for p in r
        .poisoning
        .findings
        .iter()
        .filter(|p| p.finding.severity >= MIN_SEVERITY)
    {
        item.evidence.push(format!(
            "poisoned: tool {} {} {} {} ({})",
            p.tool.as_deref().unwrap_or("(instructions)"),
            p.field,
            p.finding.rule_id,
            p.finding.severity.as_str(),
            p.finding.finding_id
        ));
    }
    for m in &r.baseline_integrity {
        item.evidence.push(format!("baseline altered: {m}"));
    }
    if r.drift || r.poisoned || r.baseline_altered {
        item.status = Status::Failed;
        item.actions.push(format!(
            "rebuild the server from a verified source, then: mcpsweep manifest check --baseline {} --server -- CMD",
            base.display()
        ));
    } else {
        item.evidence
            .push("no drift, no poisoning at or above medium, baseline intact".into());
        item.status = Status::Done;
    }
    item
}

/// Item 5: the calls that went through after the injection are the access to review.
pub fn review_downstream_access(ctx: &Ctx) -> Item {
    let mut item = Item::new(5, Status::Todo);
    let s = match &ctx.triage {
        None => {
            not_checked(&mut item, "pass --session LOG");
            return item;
        }
        Some(Err(e)) => {
            item.evidence
                .push(format!("the session log could not be triaged: {e}"));
            return item;
        }
        Some(Ok(v)) => &v.session,
    };
    if provably_benign(s) {
        item.status = Status::NotApplicable;
        item.evidence.push(format!(
            "triage: {}; no injection, no anomalous action",
            s.classification
        ));
        return item;
    }
    let b = &s.blast_radius;
    let Some(since) = &b.since else {
        item.evidence
            .push("no injection point or alert to start the incident window from".into());
        item.actions
            .push("review every call of the session: triage found no starting point".into());
        return item;
    };
    item.evidence.push(format!(
        "window: from {since} ({}) to the session end; allowlist: {}",
        b.since_ts.map(|t| t.to_string()).unwrap_or_default(),
        b.allowlist
            .as_ref()
            .map(|a| a.join(", "))
            .unwrap_or_else(|| "not logged".into())
    ));
    item.evidence.push(format!(
        "after the injection: {} allowed, {} denied, {} other outcome; {} outside the allowlist not denied",
        b.allowed_after, b.denied_after, b.other_after, b.outside_allowlist_allowed
    ));
    for t in &b.touched {
        item.evidence.push(format!(
            "went through: {} {} ({} call(s))",
            t.tool, t.resource, t.calls
        ));
    }
    if s.responses.missing > 0 {
        item.evidence.push(format!(
            "gap: {} call(s) have no logged response: what they returned cannot be reviewed",
            s.responses.missing
        ));
    }
    if b.allowed_after == 0 && b.other_after == 0 && b.outside_allowlist_allowed == 0 {
        item.status = Status::Done;
        item.evidence.push(format!(
            "the allowlist contained it: all {} attempts after the injection were DENIED, no downstream access",
            b.denied_after
        ));
    } else {
        item.actions.push(
            "confirm with each system above what was read or changed; notify affected parties if policy or regulation requires"
                .into(),
        );
    }
    item
}

/// The index records absolute paths; the scan, paths as given: one key for both.
fn absolute(p: &str) -> String {
    std::path::absolute(p)
        .map(|a| a.display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

/// Where a document named by the index stands now.
enum Presence {
    Present,
    Gone { vault_item: Option<u64> },
}

fn presence(ctx: &Ctx, path: &str, sha256: &str) -> Presence {
    match hash_file(Path::new(path)) {
        Ok(h) if h == sha256 => Presence::Present,
        _ => Presence::Gone {
            vault_item: ctx.vault().and_then(|v| {
                v.items()
                    .iter()
                    .find(|it| {
                        it.state == ItemState::Quarantined
                            && it.record.sha256.as_deref() == Some(sha256)
                    })
                    .map(|it| it.id)
            }),
        },
    }
}

/// Item 6: other documents carrying the payload family (its endpoints, its text) that are
/// still in place.
pub fn scan_corpus(ctx: &Ctx) -> Item {
    let mut item = Item::new(6, Status::Todo);
    let inputs = ctx.inputs;
    if let Some(s) = ctx.session() {
        if provably_benign(s) {
            item.status = Status::NotApplicable;
            item.evidence.push(format!(
                "triage: {}; no payload to look for",
                s.classification
            ));
            return item;
        }
    }
    if inputs.corpus.is_empty() && inputs.index.is_none() {
        not_checked(&mut item, "pass --corpus DIR and/or --index DIR");
        return item;
    }
    let src = ctx.session().and_then(|s| s.injection_source.as_ref());
    let rel = src.and_then(source_ref);
    let hosts: BTreeSet<String> = src
        .map(|s| s.finding.endpoints.iter().map(|e| e.host.clone()).collect())
        .unwrap_or_default();
    match src {
        None => item.evidence.push(
            "payload family unknown (no injection source: pass --session LOG); listing every flagged document"
                .into(),
        ),
        Some(s) => item.evidence.push(format!(
            "payload family: rule {}, endpoints [{}], text `{}`",
            s.finding.rule_id,
            hosts.iter().cloned().collect::<Vec<_>>().join(", "),
            s.finding.matched
        )),
    }
    let is_source = |p: &str| rel.as_deref().is_some_and(|r| path_matches(p, r));
    // path -> why it belongs to the family
    let mut family: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unchecked = false;
    match &ctx.corpus {
        None => {
            not_checked(&mut item, "no --corpus: the corpus was not scanned");
        }
        Some(Err(e)) => {
            item.evidence.push(e.clone());
            unchecked = true;
        }
        Some(Ok(scan)) => {
            item.evidence.push(format!(
                "corpus scan: {} documents, {} with findings, {} unreadable",
                scan.summary.documents,
                scan.summary.documents_with_findings,
                scan.summary.unreadable
            ));
            if scan.summary.unreadable > 0 {
                unchecked = true;
                for e in scan.errors.iter().filter(|e| e.is_unreadable()) {
                    item.evidence
                        .push(format!("unreadable: {}: {}", e.path, e.reason));
                }
            }
            let mut other: BTreeSet<String> = BTreeSet::new();
            for f in scan.findings.iter().filter(|f| f.severity >= MIN_SEVERITY) {
                let by_host: Vec<&str> = f
                    .endpoints
                    .iter()
                    .filter(|e| hosts.contains(&e.host))
                    .map(|e| e.host.as_str())
                    .collect();
                let same_text = src.is_some_and(|s| s.finding.matched == f.matched);
                if src.is_none() || !by_host.is_empty() || same_text {
                    let why = if src.is_none() {
                        format!("{} {}", f.rule_id, f.severity.as_str())
                    } else if !by_host.is_empty() {
                        format!("scan: {} names {}", f.rule_id, by_host.join(", "))
                    } else {
                        format!("scan: {} same text", f.rule_id)
                    };
                    family.entry(absolute(&f.path)).or_default().insert(why);
                } else {
                    other.insert(absolute(&f.path));
                }
            }
            for p in other.iter().filter(|p| !family.contains_key(*p)) {
                item.evidence.push(format!(
                    "other flagged document (a different payload; review separately): {p}"
                ));
            }
        }
    }
    if let Some(dir) = &inputs.index {
        match CorpusIndex::open(dir) {
            Err(e) => {
                item.evidence.push(format!("index {}: {e}", dir.display()));
                unchecked = true;
            }
            Ok(index) => {
                if let Some(s) = src {
                    match similar(
                        &index,
                        &Payload::Text(s.finding.excerpt.clone()),
                        &SimilarOptions::default(),
                    ) {
                        Ok(r) => {
                            item.evidence.push(format!(
                                "similar: {} indexed document(s) at score >= {}",
                                r.documents.len(),
                                SimilarOptions::default().min_score
                            ));
                            for d in &r.documents {
                                match presence(ctx, &d.path, &d.passage.sha256) {
                                    Presence::Present => {
                                        family.entry(d.path.clone()).or_default().insert(format!(
                                            "similar: score {:.2}",
                                            d.score
                                        ));
                                    }
                                    Presence::Gone { vault_item } => item.evidence.push(format!(
                                        "similar: {} (score {:.2}) is indexed but no longer on disk{}",
                                        d.path,
                                        d.score,
                                        vault_item
                                            .map(|i| format!("; in the vault as item {i}"))
                                            .unwrap_or_default()
                                    )),
                                }
                            }
                        }
                        Err(e) => item.evidence.push(format!("similar: {e}")),
                    }
                    let iocs: Vec<Ioc> = hosts
                        .iter()
                        .enumerate()
                        .map(|(i, h)| Ioc {
                            line: i + 1,
                            kind: IocKind::Domain,
                            value: h.clone(),
                        })
                        .collect();
                    if !iocs.is_empty() {
                        match sweep(&index, &iocs, 1000) {
                            Ok(r) => {
                                item.evidence.push(format!(
                                    "sweep for [{}]: {} file(s) with hits in the index",
                                    hosts.iter().cloned().collect::<Vec<_>>().join(", "),
                                    r.files_with_hits
                                ));
                                let mut seen = BTreeSet::new();
                                for h in &r.hits {
                                    if !seen.insert(h.hit.path.clone()) {
                                        continue;
                                    }
                                    match presence(ctx, &h.hit.path, &h.hit.sha256) {
                                        Presence::Present => {
                                            family
                                                .entry(h.hit.path.clone())
                                                .or_default()
                                                .insert(format!("sweep: {}", h.ioc.value));
                                        }
                                        Presence::Gone { vault_item } => {
                                            item.evidence.push(format!(
                                                "sweep: {} is indexed but no longer on disk{}",
                                                h.hit.path,
                                                vault_item
                                                    .map(|i| format!("; in the vault as item {i}"))
                                                    .unwrap_or_default()
                                            ))
                                        }
                                    }
                                }
                            }
                            Err(e) => item.evidence.push(format!("sweep: {e}")),
                        }
                    }
                } else {
                    item.evidence
                        .push("index: no payload to search for (no injection source)".into());
                }
            }
        }
    }
    let mut left = 0;
    for (path, why) in &family {
        if is_source(path) {
            item.evidence
                .push(format!("{path}: the injection source itself (item 1)"));
            continue;
        }
        left += 1;
        item.evidence.push(format!(
            "carries the payload family, not quarantined: {path} ({})",
            why.iter().cloned().collect::<Vec<_>>().join("; ")
        ));
        item.actions.push(format!(
            "mcpsweep quarantine {path} --vault {} --incident {}",
            ctx.vault_arg(),
            inputs.incident
        ));
    }
    item.status = if left > 0 || unchecked || src.is_none() {
        Status::Todo
    } else {
        item.evidence
            .push("no other document carrying the payload family is left in place".into());
        Status::Done
    };
    item
}

/// Item 7: ready only when items 1-6 are DONE or NOT_APPLICABLE.
pub fn redeploy_gate(items: &[Item]) -> Item {
    let mut item = Item::new(7, Status::Done);
    let blocking: Vec<String> = items
        .iter()
        .filter(|i| !i.status.is_complete())
        .map(|i| format!("{} ({})", i.number, i.status.as_str()))
        .collect();
    if blocking.is_empty() {
        item.evidence.push(
            "items 1-6 are DONE or NOT_APPLICABLE: re-deploy from a clean verified build".into(),
        );
    } else {
        item.status = Status::Todo;
        item.evidence
            .push(format!("blocked by item(s) {}", blocking.join(", ")));
        item.actions
            .push("finish the items above, then run this checklist again".into());
    }
    item
}
