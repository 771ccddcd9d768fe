//! What extractors produce: documents cut into text segments, each with where it came from.

use serde::{Deserialize, Serialize};

/// The format a document was read as; chosen by content first, then by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Text,
    Markdown,
    Html,
    Xml,
    Json,
    Jsonl,
    Pdf,
    Docx,
    Email,
    Mbox,
    /// An entry of an agent memory store (see `store`).
    MemoryStore,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Xml => "xml",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Email => "email",
            Format::Mbox => "mbox",
            Format::MemoryStore => "memory_store",
        }
    }
}

/// How a piece of text reaches a model, and whether a person reading the document would see it.
///
/// Text a person cannot see but a model reads is itself a signal, so detection raises the
/// severity of findings in the hidden channels (see [`Channel::is_hidden`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Body text a reader sees.
    Visible,
    /// Markup comments (HTML/XML `<!-- -->`, DOCX review comments).
    Comment,
    /// Present but hidden by style or rendering (display:none, white-on-white, zero size,
    /// PDF invisible render mode, DOCX hidden runs).
    Hidden,
    /// Attributes a model reads but a page does not show as text (alt, title, aria-label).
    Attribute,
    /// Document properties, PDF info dictionary, e-mail headers, meta tags.
    Metadata,
    /// Decoded from a base64 blob found in the text.
    DecodedBase64,
    /// Decoded from a hex blob found in the text.
    DecodedHex,
    /// Decoded from percent-encoding.
    DecodedPercent,
    /// Decoded from HTML/XML character references found in plain text.
    DecodedEntities,
    /// Smuggled as Unicode tag characters (U+E0000 block), invisible in every renderer.
    UnicodeTags,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Visible => "visible",
            Channel::Comment => "comment",
            Channel::Hidden => "hidden",
            Channel::Attribute => "attribute",
            Channel::Metadata => "metadata",
            Channel::DecodedBase64 => "decoded_base64",
            Channel::DecodedHex => "decoded_hex",
            Channel::DecodedPercent => "decoded_percent",
            Channel::DecodedEntities => "decoded_entities",
            Channel::UnicodeTags => "unicode_tags",
        }
    }

    /// Channels whose text a person reading the document does not see.
    pub fn is_hidden(self) -> bool {
        matches!(
            self,
            Channel::Comment
                | Channel::Hidden
                | Channel::DecodedBase64
                | Channel::DecodedHex
                | Channel::DecodedPercent
                | Channel::DecodedEntities
                | Channel::UnicodeTags
        )
    }

    pub fn is_decoded(self) -> bool {
        matches!(
            self,
            Channel::DecodedBase64
                | Channel::DecodedHex
                | Channel::DecodedPercent
                | Channel::DecodedEntities
        )
    }
}

/// Where a piece of text sits in the original document. Every field is optional: each format
/// fills the ones that mean something for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// 1-based PDF page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// 1-based line in the text the finding was read from (the file itself for text formats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Byte range in the original file (exact for text read verbatim; the enclosing region,
    /// e.g. an HTML text node or JSON string literal, otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_start: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_end: Option<u64>,
    /// RFC 6901 pointer to the JSON string value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_pointer: Option<String>,
    /// Memory-store entry id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Attachment (or archive member) name; nested ones joined with " / ".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
    /// Part of a container format: a DOCX part (`word/document.xml`), a MIME part, an HTML
    /// element or attribute name, a metadata field name (`Subject`, `dc:title`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// Where a segment's text sits in the original bytes, so findings can point back at them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSpan {
    /// Byte range of the original bytes the text came from, when one region holds it.
    pub byte_start: Option<u64>,
    pub byte_end: Option<u64>,
    /// The text is exactly the original bytes starting at `byte_start`, so an offset inside
    /// the text is an offset in the file.
    pub verbatim: bool,
    /// 1-based line and column of the text's first character, when the text keeps the
    /// source's line breaks (so counting newlines in the text gives source lines).
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl SourceSpan {
    /// Text that is a verbatim slice of the file.
    pub fn verbatim(byte_start: u64, byte_end: u64, line: u32, column: u32) -> Self {
        SourceSpan {
            byte_start: Some(byte_start),
            byte_end: Some(byte_end),
            verbatim: true,
            line: Some(line),
            column: Some(column),
        }
    }

    /// Text extracted (decoded, unescaped) from a known region of the file.
    pub fn region(byte_start: u64, byte_end: u64) -> Self {
        SourceSpan {
            byte_start: Some(byte_start),
            byte_end: Some(byte_end),
            ..Default::default()
        }
    }

    /// Text with no meaningful offset in the file (compressed streams, decoded attachments).
    pub fn derived() -> Self {
        SourceSpan::default()
    }
}

/// A run of text extracted from a document, with its channel and location.
#[derive(Debug, Clone)]
pub struct Segment {
    pub text: String,
    pub channel: Channel,
    /// Fields true for the whole segment (page, part, pointer, entry, attachment). Line,
    /// column and byte range are filled per finding from `span`.
    pub location: Location,
    pub span: SourceSpan,
}

impl Segment {
    pub fn new(text: String, channel: Channel, location: Location, span: SourceSpan) -> Self {
        Segment {
            text,
            channel,
            location,
            span,
        }
    }
}

/// Limits that keep extraction bounded whatever the input (ZIP bombs, deep nesting, huge
/// attachments).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest total decompressed size read out of one container (DOCX, PDF streams, e-mail).
    pub max_decompressed: u64,
    /// Deepest nesting of attachments within attachments.
    pub max_attachment_depth: u32,
    /// Deepest JSON/XML nesting followed.
    pub max_nesting: u32,
    /// Largest total text extracted from one document.
    pub max_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 256 * 1024 * 1024,
            max_attachment_depth: 4,
            max_nesting: 256,
            max_text: 64 * 1024 * 1024,
        }
    }
}

/// What an extractor returns: the segments, plus problems that did not stop extraction
/// (a truncated stream, an attachment that could not be decoded).
#[derive(Debug, Default)]
pub struct Extracted {
    pub segments: Vec<Segment>,
    pub warnings: Vec<String>,
}
