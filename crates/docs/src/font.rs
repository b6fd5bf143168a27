//! The embedded typeface and what layout needs from it: glyph coverage and advances.
//!
//! Noto Serif SC (SIL OFL 1.1, `assets/fonts/OFL.txt`) is compiled into the binary so a
//! tablet without network or system fonts can still print. It is parsed once per
//! process ([`FontFace::embedded`]); every PDF then embeds only the subset of glyphs
//! it uses (printpdf's `text_layout` subsetter), about 100–300 KB instead of 15 MB.
//!
//! What must stay true: every character handed to the PDF writer has a glyph in this
//! face. [`FontFace::sanitize`] replaces the others (emoji, rare CJK extension
//! characters, control characters) with a visible [`MISSING_GLYPH`] box, because a
//! missing glyph would otherwise be drawn as `.notdef` (often invisible) and the text
//! would silently lose content.

use printpdf::ParsedFont;
use std::sync::OnceLock;

/// The font file (Noto Serif SC Regular, TrueType outlines).
pub const EMBEDDED_FONT: &[u8] = include_bytes!("../../../assets/fonts/NotoSerifSC-Regular.ttf");

/// The font's licence, to be shipped beside any copy of the font.
pub const EMBEDDED_FONT_LICENCE: &str = include_str!("../../../assets/fonts/OFL.txt");

/// Shown in place of a character the font cannot draw: U+25A1 WHITE SQUARE, the
/// conventional 缺字 mark in Chinese typesetting.
pub const MISSING_GLYPH: char = '□';

/// What the layout engine needs to know about a face. A trait so the line breaker can
/// be unit-tested with a synthetic monospace face.
pub trait Metrics {
    /// Advance width of `c` in em (advance at a font size of 1 pt); `None` when the
    /// face has no glyph for it.
    fn advance_em(&self, c: char) -> Option<f32>;

    /// Width of `text` at `size` pt. Characters without a glyph count as one em (the
    /// width of the [`MISSING_GLYPH`] they will be drawn as).
    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance_em(c).unwrap_or(1.0))
            .sum::<f32>()
            * size
    }
}

/// A parsed TrueType face.
#[derive(Debug)]
pub struct FontFace {
    parsed: ParsedFont,
    units_per_em: f32,
    /// Ascender and descender in em (descender negative), for vertical placement.
    pub ascender: f32,
    pub descender: f32,
}

impl FontFace {
    /// Parses a face from TrueType bytes.
    pub fn parse(bytes: &[u8]) -> Option<FontFace> {
        let mut warnings = Vec::new();
        let parsed = ParsedFont::from_bytes(bytes, 0, &mut warnings)?;
        let m = &parsed.pdf_font_metrics;
        let units_per_em = f32::from(m.units_per_em.max(1));
        let ascender = f32::from(m.ascender) / units_per_em;
        let descender = f32::from(m.descender) / units_per_em;
        Some(FontFace {
            parsed,
            units_per_em,
            ascender,
            descender,
        })
    }

    /// The embedded Noto Serif SC, parsed on first use and shared by every document
    /// rendered by this process (parsing the 15 MB file costs tens of milliseconds).
    pub fn embedded() -> &'static FontFace {
        static FACE: OnceLock<FontFace> = OnceLock::new();
        FACE.get_or_init(|| {
            // The bytes are compiled in and known good; a failure here is a build
            // defect, caught by every test that renders a document.
            FontFace::parse(EMBEDDED_FONT).expect("embedded font parses")
        })
    }

    pub(crate) fn parsed(&self) -> &ParsedFont {
        &self.parsed
    }

    /// True when the face has a real glyph (not `.notdef`) for `c`.
    pub fn has_glyph(&self, c: char) -> bool {
        matches!(self.parsed.lookup_glyph_index(c as u32), Some(g) if g != 0)
    }

    /// Makes `text` safe to draw with this face: line breaks normalised to `\n`, tabs
    /// to a space, invisible format characters (zero-width joiners, variation
    /// selectors, BOM) dropped, other control characters dropped, and every
    /// character without a glyph replaced by [`MISSING_GLYPH`]. A character outside
    /// the Basic Multilingual Plane that is followed by a variation selector (an emoji
    /// presentation sequence) becomes one box, not two.
    pub fn sanitize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() != Some(&'\n') {
                        out.push('\n');
                    }
                }
                '\n' => out.push('\n'),
                '\t' => out.push(' '),
                '\u{2028}' | '\u{2029}' => out.push('\n'),
                c if is_invisible_format(c) => {}
                c if c.is_control() => {}
                c if self.has_glyph(c) => out.push(c),
                _ => out.push(MISSING_GLYPH),
            }
        }
        out
    }
}

/// Zero-width characters that only modify their neighbours: drawing them as boxes
/// would add noise, dropping them loses nothing a reader can see.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'   // zero-width space/joiners, direction marks
        | '\u{202A}'..='\u{202E}' // bidi embedding controls
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'              // byte order mark
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
        | '\u{1F3FB}'..='\u{1F3FF}' // emoji skin-tone modifiers
    )
}

impl Metrics for FontFace {
    fn advance_em(&self, c: char) -> Option<f32> {
        let gid = self
            .parsed
            .lookup_glyph_index(c as u32)
            .filter(|g| *g != 0)?;
        Some(f32::from(self.parsed.get_horizontal_advance(gid)) / self.units_per_em)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    #[test]
    fn covers_what_the_forms_print() {
        let f = FontFace::embedded();
        // Latin digits (DroidSansFallback lacks them), the hexagon brackets of 文号,
        // full-width punctuation and the missing-glyph box itself.
        for c in "0123456789ABCabc〔〕第号，。、；：（）“”《》□—…×√".chars()
        {
            assert!(f.has_glyph(c), "font lacks {c:?}");
        }
        assert_eq!(
            f.advance_em('监'),
            Some(1.0),
            "CJK ideographs are one em wide"
        );
        assert!(
            f.advance_em('1').unwrap_or(1.0) < 0.7,
            "digits are proportional"
        );
    }

    #[test]
    fn sanitize_replaces_what_cannot_be_drawn() {
        let f = FontFace::embedded();
        let s = f.sanitize("a\tb\r\nc\u{7}😀\u{FE0F}d\u{200D}e");
        assert_eq!(s, "a b\nc□de");
        // Every character left is drawable.
        assert!(s.chars().all(|c| c == '\n' || f.has_glyph(c)));
    }
}
