//! The report page: `index.html` with every figure, its caption and a link to
//! its CSV.

use std::path::Path;

use super::{Figure, ReportError};

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// A section of plain-text paragraphs shown before the figures.
#[derive(Clone, Debug)]
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Paragraphs (plain text).
    pub paragraphs: Vec<String>,
    /// Preformatted block (e.g. the run summary), shown after the paragraphs.
    pub pre: Option<String>,
}

/// Writes `dir/index.html`.
///
/// # Errors
/// [`ReportError::Io`].
pub fn write_index(
    dir: &Path,
    title: &str,
    sections: &[Section],
    figures: &[Figure],
) -> Result<(), ReportError> {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45}}\
         figure{{margin:2em 0}}img{{max-width:100%;border:1px solid #ddd}}\
         figcaption{{color:#333}}pre{{background:#f6f6f6;padding:.8em;overflow-x:auto}}</style>\
         </head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    for sec in sections {
        let _ = writeln!(s, "<h2>{}</h2>", escape(&sec.heading));
        for p in &sec.paragraphs {
            let _ = writeln!(s, "<p>{}</p>", escape(p));
        }
        if let Some(pre) = &sec.pre {
            let _ = writeln!(s, "<pre>{}</pre>", escape(pre));
        }
    }
    if !figures.is_empty() {
        let _ = writeln!(s, "<h2>Figures</h2>");
    }
    for f in figures {
        let _ = writeln!(
            s,
            "<figure id=\"{n}\"><h3>{t}</h3><img src=\"{n}.png\" alt=\"{t}\">\
             <figcaption>{c} Data: <a href=\"{n}.csv\">{n}.csv</a>.</figcaption></figure>",
            n = escape(&f.name),
            t = escape(&f.title),
            c = escape(&f.caption)
        );
    }
    s.push_str("</body></html>\n");
    let path = dir.join("index.html");
    std::fs::write(&path, s).map_err(|e| ReportError::io(&path, e))
}
