//! Paragraph layout for Chinese official documents: measure, break lines with
//! 避头尾 (kinsoku), justify.
//!
//! printpdf places text only at given positions, so the documents need their own
//! line breaker. The rules kept here:
//! - a line may break between any two CJK characters, at a space, or between a CJK
//!   character and a Latin word; never inside a Latin word or number unless the word
//!   alone is wider than the line;
//! - 避头尾: no line starts with a closing mark (，。、；：！？）」》】 …, see
//!   [`forbidden_at_line_start`]) and none ends with an opening mark (（「《【 …,
//!   [`forbidden_at_line_end`]). When the natural break would violate this, the break
//!   moves back (推出: the last characters go down to the next line with the mark);
//! - every line but a paragraph's last is justified by spreading the slack evenly
//!   between characters (at most [`MAX_JUSTIFY_EM`] per gap; a line that would need
//!   more, e.g. one holding a long unbreakable number, stays ragged);
//! - `\n` starts a new paragraph; spaces at the edges of a line are dropped.
//!
//! The input must already be sanitized ([`crate::font::FontFace::sanitize`]).

use crate::font::Metrics;

/// Largest extra space between two characters when justifying, in em. Beyond this a
/// line looks gappy (and text extraction starts inserting spaces), so it stays ragged.
pub const MAX_JUSTIFY_EM: f32 = 0.15;

/// One laid-out line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    /// Offset of the line's first character from the paragraph's left edge (the
    /// first-line indent), in pt.
    pub indent: f32,
    /// Width of the text without justification, in pt.
    pub width: f32,
    /// Extra space after each character (PDF `Tc`), in pt; 0 for ragged lines.
    pub char_spacing: f32,
}

/// Marks that must not start a line (行首禁则).
pub fn forbidden_at_line_start(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '］'
            | '｝'
            | '」'
            | '』'
            | '》'
            | '〉'
            | '】'
            | '〕'
            | '〗'
            | '〙'
            | '”'
            | '’'
            | '…'
            | '‥'
            | '·'
            | '・'
            | '％'
            | '‰'
            | '℃'
            | '々'
            | '〻'
            | 'ー'
            | '～'
            | '﹏'
            | '︰'
            | '．'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '}'
            | '%'
    )
}

/// Marks that must not end a line (行尾禁则).
pub fn forbidden_at_line_end(c: char) -> bool {
    matches!(
        c,
        '（' | '［'
            | '｛'
            | '「'
            | '『'
            | '《'
            | '〈'
            | '【'
            | '〔'
            | '〖'
            | '〘'
            | '“'
            | '‘'
            | '('
            | '['
            | '{'
    )
}

/// Characters that group into unbreakable "words": Latin letters, digits and ASCII
/// punctuation (so "GB 15982-2012" breaks only at its space).
fn is_word_char(c: char) -> bool {
    (c.is_ascii_graphic() && !matches!(c, '(' | '[' | '{' | ')' | ']' | '}'))
        || ('\u{00C0}'..='\u{024F}').contains(&c)
}

/// An unbreakable unit: one CJK character or mark, one Latin word, or one space.
#[derive(Debug, Clone, Copy)]
struct Atom {
    start: usize,
    end: usize,
    width: f32,
    first: char,
    last: char,
    space: bool,
}

fn atoms(m: &dyn Metrics, text: &str, size: f32, max_width: f32) -> Vec<Atom> {
    let adv = |c: char| m.advance_em(c).unwrap_or(1.0) * size;
    let mut out: Vec<Atom> = Vec::new();
    let mut word: Option<Atom> = None;
    let mut word_chars: Vec<(usize, char, f32)> = Vec::new();
    let flush =
        |word: &mut Option<Atom>, chars: &mut Vec<(usize, char, f32)>, out: &mut Vec<Atom>| {
            if let Some(w) = word.take() {
                if w.width > max_width {
                    // A word wider than the line (a pasted URL, a long serial number) is
                    // broken anywhere rather than overflowing the margin.
                    for &(i, c, a) in chars.iter() {
                        out.push(Atom {
                            start: i,
                            end: i + c.len_utf8(),
                            width: a,
                            first: c,
                            last: c,
                            space: false,
                        });
                    }
                } else {
                    out.push(w);
                }
            }
            chars.clear();
        };
    for (i, c) in text.char_indices() {
        let a = adv(c);
        if is_word_char(c) {
            match word.as_mut() {
                Some(w) => {
                    w.end = i + c.len_utf8();
                    w.width += a;
                    w.last = c;
                }
                None => {
                    word = Some(Atom {
                        start: i,
                        end: i + c.len_utf8(),
                        width: a,
                        first: c,
                        last: c,
                        space: false,
                    })
                }
            }
            word_chars.push((i, c, a));
            continue;
        }
        flush(&mut word, &mut word_chars, &mut out);
        out.push(Atom {
            start: i,
            end: i + c.len_utf8(),
            width: a,
            first: c,
            last: c,
            space: c.is_whitespace(),
        });
    }
    flush(&mut word, &mut word_chars, &mut out);
    out
}

/// May a line break at atom index `at` of a line that began at `start`? Spaces around
/// the break are dropped, so the rules apply to the nearest visible atoms.
fn can_break_at(atoms: &[Atom], start: usize, at: usize) -> bool {
    let Some(prev) = atoms[start..at].iter().rev().find(|a| !a.space) else {
        return false; // the line would be empty
    };
    match atoms[at..].iter().find(|a| !a.space) {
        None => true,
        Some(next) => !forbidden_at_line_start(next.first) && !forbidden_at_line_end(prev.last),
    }
}

/// Breaks one paragraph (no `\n` inside) into lines of at most `width` pt; the first
/// line starts `first_indent` pt in.
pub fn break_paragraph(
    m: &dyn Metrics,
    text: &str,
    size: f32,
    width: f32,
    first_indent: f32,
) -> Vec<Line> {
    let width = width.max(size); // at least one character per line, always
    let atoms = atoms(m, text, size, width - first_indent.min(width - size));
    let n = atoms.len();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < n {
        while start < n && atoms[start].space {
            start += 1;
        }
        if start >= n {
            break;
        }
        let indent = if first {
            first_indent.min(width - size)
        } else {
            0.0
        };
        let avail = width - indent;
        let mut used = 0.0;
        let mut end = start;
        while end < n && used + atoms[end].width <= avail + 0.01 {
            used += atoms[end].width;
            end += 1;
        }
        if end == start {
            // A single atom wider than the line: only a CJK character in an absurdly
            // narrow column can get here (long words were split above). Take it.
            end = start + 1;
        }
        let mut brk = end;
        if end < n {
            // Move the break back until it is allowed (推出). Keep at least one atom.
            while brk > start + 1 && !can_break_at(&atoms, start, brk) {
                brk -= 1;
            }
            if !can_break_at(&atoms, start, brk) {
                // Nothing allowed on this whole line (e.g. a run of marks): break where
                // the text overflows rather than loop or overflow the page.
                brk = end;
            }
        }
        let mut last = brk;
        while last > start && atoms[last - 1].space {
            last -= 1;
        }
        let s = atoms[start].start;
        let e = atoms[last - 1].end;
        let line_text = &text[s..e];
        let natural: f32 = atoms[start..last].iter().map(|a| a.width).sum();
        let is_last_line = atoms[brk..].iter().all(|a| a.space);
        let gaps = line_text.chars().count().saturating_sub(1);
        let slack = avail - natural;
        let char_spacing = if is_last_line || gaps == 0 || slack <= 0.0 {
            0.0
        } else {
            let per_gap = slack / gaps as f32;
            if per_gap <= MAX_JUSTIFY_EM * size {
                per_gap
            } else {
                0.0
            }
        };
        lines.push(Line {
            text: line_text.to_owned(),
            indent,
            width: natural,
            char_spacing,
        });
        start = brk;
        first = false;
    }
    if lines.is_empty() {
        // An empty paragraph still takes a line (a blank line the author typed).
        lines.push(Line {
            text: String::new(),
            indent: 0.0,
            width: 0.0,
            char_spacing: 0.0,
        });
    }
    lines
}

/// Breaks text that may hold several paragraphs (`\n`); each paragraph's first line is
/// indented by `first_indent`.
pub fn break_text(
    m: &dyn Metrics,
    text: &str,
    size: f32,
    width: f32,
    first_indent: f32,
) -> Vec<Line> {
    text.split('\n')
        .flat_map(|p| break_paragraph(m, p, size, width, first_indent))
        .collect()
}

/// Shortens `text` to fit `width` pt on one line, ending in "…" when cut.
pub fn ellipsize(m: &dyn Metrics, text: &str, size: f32, width: f32) -> String {
    if m.width(text, size) <= width {
        return text.to_owned();
    }
    let ell = m.width("…", size);
    let mut used = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        let a = m.advance_em(c).unwrap_or(1.0) * size;
        if used + a + ell > width {
            break;
        }
        used += a;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    /// CJK one em, everything else half an em: makes expected breaks easy to count.
    struct Mono;
    impl Metrics for Mono {
        fn advance_em(&self, c: char) -> Option<f32> {
            Some(if c.is_ascii() { 0.5 } else { 1.0 })
        }
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn fills_lines_with_cjk() {
        let l = break_paragraph(&Mono, "一二三四五六七八九十", 10.0, 40.0, 0.0);
        assert_eq!(texts(&l), ["一二三四", "五六七八", "九十"]);
        assert!(
            l[0].char_spacing == 0.0,
            "a full line needs no justification"
        );
    }

    #[test]
    fn closing_mark_never_starts_a_line() {
        // Natural break would put "，" first on line 2; the break moves back one char.
        let l = break_paragraph(&Mono, "一二三四，五六七八。", 10.0, 40.0, 0.0);
        assert_eq!(texts(&l), ["一二三", "四，五六", "七八。"]);
        for line in &l {
            let c = line.text.chars().next().unwrap();
            assert!(!forbidden_at_line_start(c), "{:?}", line.text);
        }
        // On a line of realistic length the shortened line is justified to full width.
        let l = break_paragraph(&Mono, "一二三四五六七八九，十", 10.0, 90.0, 0.0);
        assert_eq!(texts(&l), ["一二三四五六七八", "九，十"]);
        let justified = l[0].width + l[0].char_spacing * 7.0;
        assert!((justified - 90.0).abs() < 0.01, "{justified}");
        assert_eq!(
            l[1].char_spacing, 0.0,
            "a paragraph's last line stays ragged"
        );
    }

    #[test]
    fn two_closing_marks_move_together() {
        let l = break_paragraph(&Mono, "一二三四）。五六", 10.0, 40.0, 0.0);
        assert_eq!(texts(&l), ["一二三", "四）。五", "六"]);
    }

    #[test]
    fn opening_mark_never_ends_a_line() {
        let l = break_paragraph(&Mono, "一二三《四五》六七", 10.0, 40.0, 0.0);
        assert_eq!(texts(&l), ["一二三", "《四五》", "六七"]);
    }

    #[test]
    fn latin_words_and_numbers_stay_whole() {
        // "GB15982-2012" is 12 half-em chars = 60 pt: it cannot follow 依据 on a 70 pt line.
        let l = break_paragraph(&Mono, "依据GB15982-2012规定", 10.0, 70.0, 0.0);
        assert_eq!(texts(&l), ["依据", "GB15982-2012规", "定"]);
        // A line broken before a long word is not stretched into a gappy line.
        assert_eq!(l[0].char_spacing, 0.0);
    }

    #[test]
    fn words_wider_than_the_line_are_split() {
        let long = "x".repeat(30); // 150 pt
        let l = break_paragraph(&Mono, &long, 10.0, 50.0, 0.0);
        assert_eq!(l.len(), 3);
        assert!(l.iter().all(|l| l.width <= 50.0 + 0.01));
    }

    #[test]
    fn spaces_at_line_edges_are_dropped() {
        let l = break_paragraph(&Mono, "ab cd ef gh", 10.0, 20.0, 0.0);
        assert_eq!(texts(&l), ["ab", "cd", "ef", "gh"]);
    }

    #[test]
    fn first_line_indent_and_paragraphs() {
        let l = break_text(&Mono, "一二三四五六\n七八", 10.0, 40.0, 20.0);
        assert_eq!(texts(&l), ["一二", "三四五六", "七八"]);
        assert_eq!(l[0].indent, 20.0);
        assert_eq!(l[1].indent, 0.0);
        assert_eq!(l[2].indent, 20.0);
    }

    #[test]
    fn empty_paragraph_is_a_blank_line() {
        let l = break_text(&Mono, "一\n\n二", 10.0, 40.0, 0.0);
        assert_eq!(texts(&l), ["一", "", "二"]);
    }

    #[test]
    fn a_run_of_marks_terminates() {
        let marks = "，".repeat(50);
        let l = break_paragraph(&Mono, &marks, 10.0, 40.0, 0.0);
        assert_eq!(l.iter().map(|l| l.text.chars().count()).sum::<usize>(), 50);
    }

    #[test]
    fn nothing_is_lost_or_duplicated() {
        let text = "被检查单位（太原市某某医院）于2025年6月12日接受检查，“处方笺”未按规定保存；检查发现：1. 医师未签名。2. 病历（门诊）书写不规范！";
        for width in [30.0, 45.0, 60.0, 95.0, 200.0] {
            let l = break_paragraph(&Mono, text, 10.0, width, 0.0);
            let joined: String = l.iter().map(|l| l.text.as_str()).collect();
            assert_eq!(
                joined.replace(' ', ""),
                text.replace(' ', ""),
                "width {width}"
            );
            for (i, line) in l.iter().enumerate() {
                let first = line.text.chars().next().unwrap();
                let last = line.text.chars().last().unwrap();
                assert!(!forbidden_at_line_start(first), "{width}: {:?}", line.text);
                if i + 1 < l.len() {
                    assert!(!forbidden_at_line_end(last), "{width}: {:?}", line.text);
                }
                assert!(line.width <= width + 0.01, "{width}: {:?}", line.text);
            }
        }
    }

    #[test]
    fn ellipsize_cuts_with_a_mark() {
        assert_eq!(ellipsize(&Mono, "一二三", 10.0, 40.0), "一二三");
        assert_eq!(ellipsize(&Mono, "一二三四五六", 10.0, 40.0), "一二三…");
    }
}
